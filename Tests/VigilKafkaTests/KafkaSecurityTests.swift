import Foundation
import Testing
import VigilCore
import VigilCrypto
@testable import VigilKafka

/// SASL and TLS settings (issue 23, point 3): what every client is given, what is refused
/// before a client is made, that the password never shows, and — as far as librdkafka's mock
/// cluster can show it — that a SASL client files and reads alerts.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaSecurityTests {
    @Test func theSettingsBecomeLibrdkafkaPropertiesAndThePasswordNeverShows() throws {
        let security = KafkaSecurity(
            transport: .saslSSL, mechanism: .scramSHA512, username: "vigil", password: "s3cret-pass", caLocation: "/etc/ssl/kafka-ca.pem")
        #expect(security.problem == nil)
        let properties = Dictionary(security.properties, uniquingKeysWith: { a, _ in a })
        #expect(properties == [
            "security.protocol": "sasl_ssl", "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "vigil", "sasl.password": "s3cret-pass",
            "ssl.ca.location": "/etc/ssl/kafka-ca.pem",
        ])
        #expect(!security.description.contains("s3cret-pass") && security.description.contains("sasl.password=***"))
        var configuration = KafkaConfiguration()
        for (key, value) in security.properties { configuration.set(key, value) }
        try configuration.validate()  // librdkafka knows every key and value
    }

    @Test(arguments: [
        (KafkaSecurity(transport: .saslPlaintext), "mechanism"),
        (KafkaSecurity(transport: .saslPlaintext, mechanism: .plain, username: "u"), "password"),
        (KafkaSecurity(transport: .ssl, certificateLocation: "/c.pem"), "go together"),
        (KafkaSecurity(transport: .plaintext, caLocation: "/ca.pem"), "ssl or sasl_ssl"),
    ])
    func anIncompleteSettingIsRefusedBeforeAnyClientIsMade(security: KafkaSecurity, problem: String) {
        #expect(security.problem?.contains(problem) == true, "\(security.problem ?? "no problem")")
        #expect(throws: KafkaError.self) { _ = try KafkaConnection(bootstrapServers: "127.0.0.1:9", signer: .forTests, security: security) }
    }

    /// librdkafka's mock brokers speak neither SASL nor TLS (librdkafka \(KafkaMockCluster.librdkafkaVersion)):
    /// a client given SASL settings is refused at its first request, where the same client
    /// without them reads the topics, so the settings do reach the clients. A real SASL or TLS
    /// cluster is not available here; the compose file's SASL setup has not been run either.
    @Test func theSettingsReachTheClientsTheMockRefusesSASL() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let cipher = IdentityCipher(masterKey: Array(repeating: 7, count: 32)), macKey = [UInt8](repeating: 9, count: 32)
        let plain = try KafkaConnection(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { plain.shutdown() }
        let log = try KafkaAlertLog(connection: plain, cipher: cipher, macKey: macKey, timeout: 10)
        log.close()
        let sasl = try KafkaConnection(
            bootstrapServers: cluster.bootstrapServers, signer: .forTests, writeTimeout: 2,
            security: KafkaSecurity(transport: .saslPlaintext, mechanism: .plain, username: "vigil", password: "not-for-the-mock"))
        defer { sasl.shutdown() }
        let started = Date()
        #expect(throws: KafkaError.self) { _ = try KafkaAlertLog(connection: sasl, cipher: cipher, macKey: macKey, timeout: 5) }
        #expect(Date().timeIntervalSince(started) < 20, "refused promptly")
    }
}
