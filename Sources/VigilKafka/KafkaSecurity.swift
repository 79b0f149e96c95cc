/// How Vigil's Kafka clients reach a cluster that does not trust them by default (issue 23,
/// point 3): librdkafka's `security.protocol`, the SASL mechanism and credentials, and the TLS
/// files. Every client of a process (its producer, its readers, its group members) gets the
/// same. The password is passed to librdkafka only: never logged, never shown.
public struct KafkaSecurity: Sendable, Equatable, CustomStringConvertible {
    /// librdkafka's `security.protocol`.
    public enum Transport: String, Sendable, CaseIterable {
        case plaintext
        case ssl
        case saslPlaintext = "sasl_plaintext"
        case saslSSL = "sasl_ssl"

        /// Whether it authenticates with SASL.
        public var usesSASL: Bool { self == .saslPlaintext || self == .saslSSL }
        /// Whether it runs over TLS.
        public var usesTLS: Bool { self == .ssl || self == .saslSSL }
    }

    /// librdkafka's `sasl.mechanisms` Vigil supports.
    public enum Mechanism: String, Sendable, CaseIterable {
        case plain = "PLAIN"
        case scramSHA256 = "SCRAM-SHA-256"
        case scramSHA512 = "SCRAM-SHA-512"
    }

    /// The protocol.
    public var transport: Transport
    /// With SASL: the mechanism, the user and the password.
    public var mechanism: Mechanism?
    public var username: String?
    public var password: String?
    /// With TLS: the CA bundle to verify the brokers with, and this client's certificate and key (for mutual TLS).
    public var caLocation: String?
    public var certificateLocation: String?
    public var keyLocation: String?

    /// Plain TCP, no authentication: a cluster on a private network, or the mock cluster.
    public static let plaintext = KafkaSecurity(transport: .plaintext)

    /// A security setting.
    public init(
        transport: Transport, mechanism: Mechanism? = nil, username: String? = nil, password: String? = nil, caLocation: String? = nil,
        certificateLocation: String? = nil, keyLocation: String? = nil
    ) {
        self.transport = transport
        self.mechanism = mechanism
        self.username = username
        self.password = password
        self.caLocation = caLocation
        self.certificateLocation = certificateLocation
        self.keyLocation = keyLocation
    }

    /// What is missing for the protocol to work, or `nil`: SASL needs a mechanism, a user and a
    /// password; a client key needs its certificate and the other way round.
    public var problem: String? {
        if transport.usesSASL {
            if mechanism == nil { return "\(transport.rawValue) needs a SASL mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)" }
            if (username ?? "").isEmpty || (password ?? "").isEmpty { return "\(transport.rawValue) needs a SASL user name and password" }
        }
        if (certificateLocation == nil) != (keyLocation == nil) { return "a client certificate and its key go together" }
        if !transport.usesTLS, caLocation != nil || certificateLocation != nil { return "TLS files need the ssl or sasl_ssl protocol" }
        return nil
    }

    /// The librdkafka properties every client gets.
    public var properties: [(String, String)] {
        var properties = [("security.protocol", transport.rawValue)]
        if transport.usesSASL {
            if let mechanism { properties.append(("sasl.mechanisms", mechanism.rawValue)) }
            if let username { properties.append(("sasl.username", username)) }
            if let password { properties.append(("sasl.password", password)) }
        }
        if transport.usesTLS {
            if let caLocation { properties.append(("ssl.ca.location", caLocation)) }
            if let certificateLocation { properties.append(("ssl.certificate.location", certificateLocation)) }
            if let keyLocation { properties.append(("ssl.key.location", keyLocation)) }
        }
        return properties
    }

    /// The setting for logs and `vigil check`: the password as `***`.
    public var description: String {
        properties.map { $0.0 == "sasl.password" ? "\($0.0)=***" : "\($0.0)=\($0.1)" }.joined(separator: " ")
    }
}
