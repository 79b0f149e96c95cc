import Foundation
import Testing
import VigilKafka

/// The ACLs `vigil kafka init` prints and creates (issue 23): partners write the intake topic
/// only; Vigil's principal owns its topics and groups.
@Suite struct KafkaACLTests {
    @Test func partnersMayOnlyWriteTheIntakeTopic() {
        let acls = KafkaACL.deployment(vigil: "User:vigil", partners: "User:ngo")
        let partners = acls.filter { $0.principal == "User:ngo" }
        #expect(Set(partners.map(\.operation)) == [.write, .describe])
        #expect(partners.allSatisfy { $0.resource == .topic && $0.name == "vigil.submissions" && $0.pattern == .literal })
        let vigil = acls.filter { $0.principal == "User:vigil" }
        #expect(vigil.contains { $0.resource == .topic && $0.name == "vigil." && $0.pattern == .prefixed && $0.operation == .all })
        #expect(vigil.contains { $0.resource == .group && $0.name == "vigil-" && $0.pattern == .prefixed })
        #expect(vigil.contains { $0.resource == .cluster && $0.operation == .idempotentWrite })
        #expect(
            partners.first { $0.operation == .write }?.description
                == "kafka-acls.sh --bootstrap-server \"$BOOTSTRAP\" --add --allow-principal 'User:ngo' --operation Write --topic 'vigil.submissions'")
        #expect(vigil.first?.description.hasSuffix("--topic 'vigil.' --resource-pattern-type prefixed") == true)
    }

    @Test(arguments: ["vigil", "User:", ":vigil", "User:a b", "User:o'brien"])
    func aPrincipalThatIsNotTypeColonNameIsRefused(principal: String) {
        #expect(KafkaACL.problem(principal: principal)?.contains("Type:name") == true)
    }

    /// librdkafka 2.0's mock cluster has no ACL handlers (as it has none for CreateTopics):
    /// creating them there must fail with a message, promptly, not hang or report success.
    @Test(.timeLimit(.minutes(1))) func theMockClusterCannotTakeACLsAndSaysSo() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 1)
        let started = Date()
        #expect(throws: KafkaError.self) {
            try KafkaACL.create(KafkaACL.deployment(vigil: "User:vigil", partners: "User:ngo"), bootstrapServers: cluster.bootstrapServers, timeout: 5)
        }
        #expect(Date().timeIntervalSince(started) < 20)
    }
}
