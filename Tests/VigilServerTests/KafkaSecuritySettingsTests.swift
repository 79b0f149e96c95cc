import Foundation
import Testing
import VigilKafka
@testable import VigilServer

/// The Kafka security settings (issue 23, point 3): read like any setting, checked together,
/// the password taken from its file.
@Suite struct KafkaSecuritySettingsTests {
    let kafka = ["VIGIL_LOG": "kafka://127.0.0.1:9092"]

    @Test func saslSettingsAreReadAndThePasswordComesFromItsFile() throws {
        let directory = NSTemporaryDirectory() + "vigil-kafka-secret-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/password"
        try "from-a-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        let configuration = try VigilConfiguration.load(file: nil, environment: kafka.merging([
            "VIGIL_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "VIGIL_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "VIGIL_KAFKA_SASL_USERNAME": "vigil",
            "VIGIL_KAFKA_SASL_PASSWORD_FILE": file, "VIGIL_KAFKA_SSL_CA_LOCATION": "/etc/ssl/ca.pem",
        ]) { a, _ in a })
        try configuration.validate()
        let security = try configuration.kafkaSecurity()
        #expect(security == KafkaSecurity(
            transport: .saslSSL, mechanism: .scramSHA256, username: "vigil", password: "from-a-file", caLocation: "/etc/ssl/ca.pem"))
    }

    @Test(arguments: [
        (["VIGIL_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "VIGIL_KAFKA_SASL_MECHANISM": "PLAIN"], "kafka_security_protocol"),
        (["VIGIL_KAFKA_SECURITY_PROTOCOL": "tls"], "kafka_security_protocol"),
        (["VIGIL_KAFKA_SASL_MECHANISM": "GSSAPI"], "kafka_sasl_mechanism"),
        (["VIGIL_KAFKA_SASL_PASSWORD": "a", "VIGIL_KAFKA_SASL_PASSWORD_FILE": "/x"], "kafka_sasl_password_file"),
    ])
    func aWrongOrIncompleteSettingNamesItsKey(environment: [String: String], key: String) {
        do {
            let configuration = try VigilConfiguration.load(file: nil, environment: kafka.merging(environment) { a, _ in a })
            try configuration.validate()
            Issue.record("accepted \(environment)")
        } catch {
            guard case .invalid(let named, _) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(named == key)
        }
    }
}
