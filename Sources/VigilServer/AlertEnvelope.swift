import VigilCore

/// An alert as the API lists it: every alert field plus its `offset` in the log.
public struct AlertEnvelope: Encodable, Sendable {
    /// The alert, already redacted for the reader.
    public let alert: Alert
    /// Its position in the log.
    public let offset: LogOffset

    private enum Keys: String, CodingKey { case offset }

    /// Pairs a (redacted) alert with its offset.
    public init(alert: Alert, offset: LogOffset) {
        self.alert = alert
        self.offset = offset
    }

    public func encode(to encoder: Encoder) throws {
        try alert.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(offset, forKey: .offset)
    }
}

/// The answer to `POST /v1/alerts`.
struct AcceptedBody: Encodable {
    let id: String
    let offset: LogOffset
    let status = "accepted"
}

/// The answer to `GET /v1/alerts`.
struct AlertListBody: Encodable {
    let alerts: [AlertEnvelope]
    /// Pass as `after` to get the next page or wait for newer alerts.
    let nextAfter: LogOffset

    enum CodingKeys: String, CodingKey {
        case alerts
        case nextAfter = "next_after"
    }
}
