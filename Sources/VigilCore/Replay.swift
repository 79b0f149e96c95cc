/// Which alerts a replay resends (DESIGN §8): every criterion given must hold, so they
/// combine. Offsets are inclusive; `until` is exclusive.
public struct ReplaySelection: Sendable, Equatable, Codable {
    /// The first log offset to consider.
    public var fromOffset: LogOffset?
    /// The last log offset to consider.
    public var toOffset: LogOffset?
    /// Alerts received at or after this time.
    public var since: Timestamp?
    /// Alerts received before this time.
    public var until: Timestamp?
    /// Only these alerts.
    public var alertIDs: [String] = []
    /// Only the alerts of this case.
    public var caseID: String?
    /// Only alerts in these countries.
    public var countries: Set<CountryCode> = []
    /// Only alerts of these severities.
    public var severities: Set<Severity> = []
    /// Only alerts of these threats.
    public var threats: Set<Threat> = []

    enum CodingKeys: String, CodingKey {
        case fromOffset = "from_offset"
        case toOffset = "to_offset"
        case since, until
        case alertIDs = "alert_ids"
        case caseID = "case_id"
        case countries, severities, threats
    }

    /// An empty selection; set at least one criterion.
    public init() {}

    /// Whether `stored` is selected.
    public func matches(_ stored: StoredAlert) -> Bool {
        let alert = stored.alert
        if let fromOffset, stored.offset < fromOffset { return false }
        if let toOffset, stored.offset > toOffset { return false }
        if let since, alert.receivedAt < since { return false }
        if let until, alert.receivedAt >= until { return false }
        if !alertIDs.isEmpty && !alertIDs.contains(alert.id) { return false }
        if let caseID, alert.caseID != caseID { return false }
        if !countries.isEmpty && !countries.contains(alert.country) { return false }
        if !severities.isEmpty && !severities.contains(alert.severity) { return false }
        if !threats.isEmpty && !threats.contains(alert.threat) { return false }
        return true
    }

    /// The log query that covers the selection (the rest is filtered by `matches`).
    public func query(after offset: LogOffset, limit: Int) -> AlertQuery {
        AlertQuery(
            fromOffset: max(offset.addingReportingOverflow(1).overflow ? LogOffset.max : offset + 1, fromOffset ?? 1), toOffset: toOffset, since: since, until: until,
            country: countries.count == 1 ? countries.first : nil, caseID: caseID, limit: limit)
    }
}

/// Who a replay goes to: every subscriber that matches today, or one subscriber, optionally
/// one of its channels.
public struct ReplayTarget: Sendable, Equatable, Codable {
    /// Only this subscriber.
    public var subscriberID: String?
    /// Only this channel of that subscriber.
    public var channelID: String?

    enum CodingKeys: String, CodingKey {
        case subscriberID = "subscriber_id"
        case channelID = "channel_id"
    }

    /// A target; both `nil` means everyone who matches.
    public init(subscriberID: String? = nil, channelID: String? = nil) {
        self.subscriberID = subscriberID
        self.channelID = channelID
    }
}

/// A replay as `POST /v1/replays` takes it, validated.
public struct ReplayRequest: Sendable, Equatable {
    /// The alerts to resend.
    public var selection: ReplaySelection
    /// Who to resend them to.
    public var target: ReplayTarget
    /// List what would be sent without sending.
    public var dryRun: Bool

    /// A request made in code.
    public init(selection: ReplaySelection, target: ReplayTarget = ReplayTarget(), dryRun: Bool = false) {
        self.selection = selection
        self.target = target
        self.dryRun = dryRun
    }

    static let keys: Set<String> = [
        "from_offset", "to_offset", "since", "until", "alert_ids", "case_id", "countries", "severities", "threats", "subscriber_id",
        "channel_id", "dry_run",
    ]

    /// Reads and checks a request body, reporting every problem by field.
    public init(json bytes: [UInt8]) throws(ValidationFailure) {
        guard case .object(let fields) = try ValidationFailure.parseBody(bytes) else {
            throw ValidationFailure([FieldError("", "must be a JSON object")])
        }
        var r = FieldReader(fields)
        r.refuseUnknown(Self.keys, of: "a replay")
        var selection = ReplaySelection()
        for (name, assign) in [("from_offset", { (v: LogOffset) in selection.fromOffset = v }), ("to_offset", { selection.toOffset = $0 })] {
            guard let value = fields[name], value != .null else { continue }
            if case .number(let n) = value, n >= 1, n == n.rounded(), n < 9e15 { assign(LogOffset(n)) } else { r.fail(name, "must be a log offset (a whole number from 1)") }
        }
        for (name, assign) in [("since", { (t: Timestamp) in selection.since = t }), ("until", { selection.until = $0 })] {
            guard let text = r.string(name, required: false) else { continue }
            if let time = Timestamp(rfc3339: text) { assign(time) } else { r.fail(name, "must be an RFC 3339 time such as 2026-11-01T00:00:00Z") }
        }
        selection.alertIDs = r.strings("alert_ids", maxCount: 10_000) { ULID($0) == nil ? "is not an alert id (a ULID)" : nil }
        selection.caseID = r.string("case_id", required: false)
        selection.countries = Set(r.strings("countries", maxCount: 249) { CountryCode($0) == nil ? "is not an ISO 3166-1 alpha-2 code" : nil }.compactMap { CountryCode($0) })
        selection.severities = Set(r.strings("severities", maxCount: 8) { Severity(rawValue: $0) == nil ? "must be one of \(Severity.allowedWords)" : nil }.compactMap { Severity(rawValue: $0) })
        selection.threats = Set(r.strings("threats", maxCount: 32) { Threat(rawValue: $0) == nil ? "must be one of \(Threat.allowedWords)" : nil }.compactMap { Threat(rawValue: $0) })
        if let from = selection.fromOffset, let to = selection.toOffset, to < from { r.fail("to_offset", "must not be below from_offset") }
        if let since = selection.since, let until = selection.until, until <= since { r.fail("until", "must be after since") }
        if selection == ReplaySelection() {
            r.fail("", "name at least one of from_offset, to_offset, since, until, alert_ids, case_id, countries, severities, threats (from_offset 1 selects the whole log)")
        }
        var target = ReplayTarget()
        target.subscriberID = r.string("subscriber_id", required: false)
        target.channelID = r.string("channel_id", required: false)
        if target.channelID != nil && target.subscriberID == nil { r.fail("channel_id", "needs subscriber_id") }
        var dryRun = false
        if let value = fields["dry_run"], value != .null {
            if case .bool(let flag) = value { dryRun = flag } else { r.fail("dry_run", "must be true or false") }
        }
        guard r.errors.isEmpty else { throw ValidationFailure(r.errors) }
        self.init(selection: selection, target: target, dryRun: dryRun)
    }
}

extension Router {
    /// The deliveries a replay of `stored` makes: the subscribers that match it today (and,
    /// for updates, those who received the case), narrowed to `target`, each with reason
    /// `replay`. Test alerts are replayed only when `sendingTest` (a replay that names the
    /// test alert by id for one subscriber: how the console sends a desk a test alert).
    public static func replay(
        _ stored: StoredAlert, index: SubscriptionIndex, caseRecipients: Set<String> = [], target: ReplayTarget, sendingTest: Bool = false
    ) -> [RoutedDelivery] {
        replayRecipients(stored, index: index, caseRecipients: caseRecipients, target: target, sendingTest: sendingTest).flatMap { subscriber, channels in
            deliveries(of: stored, to: subscriber, channels: channels, reason: .replay, state: .pending)
        }
    }

    /// How many deliveries `replay` would make, without making them (dry runs count far more
    /// than they list).
    public static func replayCount(
        _ stored: StoredAlert, index: SubscriptionIndex, caseRecipients: Set<String> = [], target: ReplayTarget, sendingTest: Bool = false
    ) -> Int {
        if stored.alert.kind == .alert && target == ReplayTarget() && stored.alert.handling == nil {
            // The common case of a large dry run: everyone who matches, no case followers.
            return stored.alert.status == .test ? 0 : index.matchingChannelCount(stored.alert)
        }
        return replayRecipients(stored, index: index, caseRecipients: caseRecipients, target: target, sendingTest: sendingTest)
            .reduce(0) { $0 + $1.channels.count }
    }

    /// Whether a replay of `selection` to `target` sends the test alert `stored`: only when it
    /// names the alert by id and goes to one subscriber, never as part of a wider sweep.
    public static func replaySendsTest(_ stored: StoredAlert, selection: ReplaySelection, target: ReplayTarget) -> Bool {
        stored.alert.status == .test && target.subscriberID != nil && selection.alertIDs.contains(stored.alert.id)
    }

    private static func replayRecipients(
        _ stored: StoredAlert, index: SubscriptionIndex, caseRecipients: Set<String>, target: ReplayTarget, sendingTest: Bool
    ) -> [(subscriber: Subscriber, channels: [Channel])] {
        guard stored.alert.status != .test || (sendingTest && target.subscriberID != nil) else { return [] }
        return recipients(of: stored.alert, index: index, caseRecipients: caseRecipients).compactMap { subscriber, _ in
            // Replays obey the filer's exclusions as live routing does.
            if stored.alert.handling?.excludes(subscriber) == true { return nil }
            if let wanted = target.subscriberID, subscriber.id != wanted { return nil }
            let channels = target.channelID.map { id in subscriber.channels.filter { $0.id == id } } ?? subscriber.channels
            return channels.isEmpty ? nil : (subscriber, channels)
        }
    }
}

/// Where a replay stands; `GET /v1/replays/{id}` shows it and `/metrics` sums it.
public struct ReplayProgress: Sendable, Equatable, Codable {
    /// `running` until the selection is exhausted, then `done`; `failed` with `error` when the
    /// log or queue refused.
    public enum State: String, Sendable, Codable {
        case running, done, failed
    }

    /// `rpl_…`.
    public var id: String
    /// Where it stands.
    public var state: State
    /// What was selected and for whom; `selection.toOffset` is pinned at start, so live
    /// alerts filed during the replay are not swept into it.
    public var selection: ReplaySelection
    /// Who it goes to.
    public var target: ReplayTarget
    /// The last log offset looked at.
    public var cursor: LogOffset
    /// Alerts looked at.
    public var scanned: Int
    /// Alerts that matched the selection and went to at least one recipient.
    public var alerts: Int
    /// Deliveries queued.
    public var deliveries: Int
    /// When it was asked for.
    public var createdAt: Timestamp
    /// When it last moved.
    public var updatedAt: Timestamp
    /// Why it failed.
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case id, state, selection, target, cursor, scanned, alerts, deliveries
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case error
    }

    /// A replay's record.
    public init(
        id: String, state: State, selection: ReplaySelection, target: ReplayTarget, cursor: LogOffset = 0, scanned: Int = 0,
        alerts: Int = 0, deliveries: Int = 0, createdAt: Timestamp, updatedAt: Timestamp, error: String? = nil
    ) {
        self.id = id
        self.state = state
        self.selection = selection
        self.target = target
        self.cursor = cursor
        self.scanned = scanned
        self.alerts = alerts
        self.deliveries = deliveries
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.error = error
    }
}
