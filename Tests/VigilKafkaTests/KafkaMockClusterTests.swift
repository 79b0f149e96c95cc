import Foundation
import Testing
import VigilKafka
import VigilTestSupport

/// Runs kcat, an outside Kafka client, for at most `timeout` seconds.
func kcat(_ arguments: [String], stdin: String = "", timeout: Double = 30) throws -> (Int32, String, String) {
    let script = "import subprocess,sys; p=subprocess.run(['kcat']+sys.argv[1:], input=sys.stdin.read().encode(), capture_output=True, timeout=\(timeout)); sys.stdout.write(p.stdout.decode()); sys.stderr.write(p.stderr.decode()); sys.exit(p.returncode)"
    let result = try PythonHelper.run(script, arguments: arguments, stdin: stdin, timeout: timeout + 5)
    return (result.status, result.stdout, result.stderr)
}

@Suite(.serialized) struct KafkaMockClusterTests {
    @Test func servesTheWireProtocolToKcat() throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        #expect(cluster.bootstrapServers.split(separator: ",").count == 3)
        try cluster.createTopic("vigil.alerts", partitions: 4, replicationFactor: 3)
        let (status, metadata, errors) = try kcat(["-b", cluster.bootstrapServers, "-L", "-t", "vigil.alerts"])
        #expect(status == 0, "\(errors)")
        #expect(metadata.contains("3 brokers"))
        #expect(metadata.contains("topic \"vigil.alerts\" with 4 partitions"))
    }

    @Test func carriesMessagesBetweenOutsideClients() throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("vigil.test", partitions: 1)
        let produced = try kcat(["-b", cluster.bootstrapServers, "-P", "-t", "vigil.test", "-K", ":"], stdin: "BY:{\"n\":1}\nCO:{\"n\":2}\n")
        #expect(produced.0 == 0, "\(produced.2)")
        let consumed = try kcat(["-b", cluster.bootstrapServers, "-C", "-t", "vigil.test", "-o", "beginning", "-c", "2", "-f", "%k=%s\\n", "-e"])
        #expect(consumed.0 == 0, "\(consumed.2)")
        #expect(consumed.1 == "BY={\"n\":1}\nCO={\"n\":2}\n")
    }

    @Test func refusesBadSettingsNamingTheKey() {
        var configuration = KafkaConfiguration()
        configuration.set("acks", "sometimes")
        #expect { try configuration.validate() } throws: { ($0 as? KafkaError)?.description.contains("acks") == true }
    }
}
