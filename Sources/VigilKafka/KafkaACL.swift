import CRdKafka
import VigilObservability

/// One Kafka ACL (allow `operation` on a resource to `principal`), as `vigil kafka init`
/// prints and, with `--apply-acls`, creates them: Vigil's own principal may do everything on
/// its topics and groups; partners may only write to `vigil.submissions` (issue 23). With
/// an authorizer on the cluster and `allow.everyone.if.no.acl.found=false`, nobody else can
/// read Vigil's topics, or write a record of Vigil's, even a genuine one copied back.
public struct KafkaACL: Sendable, Equatable, CustomStringConvertible {
    /// What an ACL is about.
    public enum Resource: String, Sendable {
        case topic, group, cluster
    }

    /// Whether the resource name is exact or a prefix.
    public enum Pattern: String, Sendable {
        case literal, prefixed
    }

    /// What it allows.
    public enum Operation: String, Sendable {
        case all = "All", write = "Write", describe = "Describe", idempotentWrite = "IdempotentWrite"
    }

    /// `User:name`, as the cluster's authenticator names the client.
    public let principal: String
    public let resource: Resource
    /// The topic or group name (or prefix); `kafka-cluster` for the cluster.
    public let name: String
    public let pattern: Pattern
    public let operation: Operation

    /// An ACL allowing `operation` on `resource` `name` (`pattern`) to `principal`.
    public init(principal: String, resource: Resource, name: String, pattern: Pattern = .literal, operation: Operation) {
        self.principal = principal
        self.resource = resource
        self.name = name
        self.pattern = pattern
        self.operation = operation
    }

    /// The ACLs a deployment needs: `vigil` (Vigil's processes) on every `vigil.` topic and
    /// `vigil-` group, with idempotent writes; `partners` writing (and describing) the intake
    /// topic only.
    public static func deployment(vigil: String, partners: String) -> [KafkaACL] {
        [
            KafkaACL(principal: vigil, resource: .topic, name: "vigil.", pattern: .prefixed, operation: .all),
            KafkaACL(principal: vigil, resource: .group, name: "vigil-", pattern: .prefixed, operation: .all),
            KafkaACL(principal: vigil, resource: .cluster, name: "kafka-cluster", operation: .idempotentWrite),
            KafkaACL(principal: partners, resource: .topic, name: KafkaRecordSigner.intakeTopic, operation: .write),
            KafkaACL(principal: partners, resource: .topic, name: KafkaRecordSigner.intakeTopic, operation: .describe),
        ]
    }

    /// Why `principal` cannot be used: Kafka principals are `Type:name`, with no spaces.
    public static func problem(principal: String) -> String? {
        let parts = principal.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, principal.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "'" }) else {
            return "'\(principal)' is not a Kafka principal; write it as Type:name, for example User:vigil"
        }
        return nil
    }

    /// The same ACL as a `kafka-acls.sh` command, for an operator who applies ACLs by hand.
    public var description: String {
        let target = switch resource {
        case .topic: "--topic '\(name)'"
        case .group: "--group '\(name)'"
        case .cluster: "--cluster"
        }
        let patternFlag = pattern == .prefixed ? " --resource-pattern-type prefixed" : ""
        return "kafka-acls.sh --bootstrap-server \"$BOOTSTRAP\" --add --allow-principal '\(principal)' --operation \(operation.rawValue) \(target)\(patternFlag)"
    }

    /// Creates `acls` on the cluster at `bootstrapServers` through the admin API (with `extra`
    /// client properties: an admin principal's SASL and TLS settings), waiting up to `timeout`
    /// seconds; throws naming the first ACL the cluster refused.
    public static func create(
        _ acls: [KafkaACL], bootstrapServers: String, extra: [(String, String)] = [], timeout: Double = 30, logger: Logger = Logger(label: "kafka")
    ) throws(KafkaError) {
        var errorText = [CChar](repeating: 0, count: 512)
        var bindings: [OpaquePointer?] = []
        defer { for binding in bindings { rd_kafka_AclBinding_destroy(binding) } }
        for acl in acls {
            guard
                let binding = rd_kafka_AclBinding_new(
                    acl.resourceType, acl.name, acl.pattern == .prefixed ? RD_KAFKA_RESOURCE_PATTERN_PREFIXED : RD_KAFKA_RESOURCE_PATTERN_LITERAL,
                    acl.principal, "*", acl.aclOperation, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, &errorText, errorText.count)
            else {
                throw KafkaError("ACL \(acl.principal) \(acl.operation.rawValue) \(acl.name): \(KafkaClientHandle.text(errorText))")
            }
            bindings.append(binding)
        }
        try KafkaAdminClient.run(
            bootstrapServers: bootstrapServers, extra: extra, timeout: timeout, logger: logger, operation: RD_KAFKA_ADMIN_OP_CREATEACLS,
            what: "CreateAcls",
            request: { client, options, queue in
                bindings.withUnsafeMutableBufferPointer { rd_kafka_CreateAcls(client, $0.baseAddress, $0.count, options, queue) }
            },
            result: { event throws(KafkaError) in
                guard let result = rd_kafka_event_CreateAcls_result(event) else { throw KafkaError("CreateAcls gave no result") }
                var count = 0
                guard let results = rd_kafka_CreateAcls_result_acls(result, &count) else { return }
                for i in 0..<min(count, acls.count) {
                    guard let item = results[i], let error = rd_kafka_acl_result_error(item) else { continue }
                    throw KafkaError("the cluster refused the ACL \(acls[i].principal) \(acls[i].operation.rawValue) \(acls[i].name): \(String(cString: rd_kafka_error_string(error)))")
                }
            })
    }

    private var resourceType: rd_kafka_ResourceType_t {
        switch resource {
        case .topic: RD_KAFKA_RESOURCE_TOPIC
        case .group: RD_KAFKA_RESOURCE_GROUP
        case .cluster: RD_KAFKA_RESOURCE_BROKER
        }
    }

    private var aclOperation: rd_kafka_AclOperation_t {
        switch operation {
        case .all: RD_KAFKA_ACL_OPERATION_ALL
        case .write: RD_KAFKA_ACL_OPERATION_WRITE
        case .describe: RD_KAFKA_ACL_OPERATION_DESCRIBE
        case .idempotentWrite: RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE
        }
    }
}
