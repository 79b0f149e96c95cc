import VigilCore
import VigilStore

/// The who-is-acting board of a case (issue 19): for each subscriber that received it, whether
/// a sending reached it and whether and how it acknowledged. `GET /v1/cases/{id}` and the
/// console's alert and case pages show it through the one visibility rule here: the filing
/// organisation and operators see every row; another organisation that received the case
/// sees its own rows and those of subscribers whose `ack_visibility` is `recipients`; anyone
/// else sees none. Notes show only at the clearance of the alert they were written on.
public struct CaseBoard: Sendable {
    /// A row of the board.
    public struct Row: Sendable {
        /// The subscriber, its organisation and kind.
        public let subscriberID: String
        public var organisation: String
        public var kind: SubscriberKind?
        /// Whether a sending reached it.
        public var delivered = false
        /// Its latest acknowledgement of any of the case's alerts.
        public var ack: Acknowledgement?
        /// The confidentiality of the alert that acknowledgement was written on: its note shows only at this clearance.
        public var ackClearance: Confidentiality = .public
    }

    let deliveries: any DeliveryLedger
    let ledger: any AcknowledgementLedger
    let subscribers: SubscriberRegistry

    /// A board over the deliveries, acknowledgements and subscribers.
    public init(deliveries: any DeliveryLedger, ledger: any AcknowledgementLedger, subscribers: SubscriberRegistry) {
        self.deliveries = deliveries
        self.ledger = ledger
        self.subscribers = subscribers
    }

    /// The rows of `alerts` (a case's, in order) that `reader` may see, by subscriber id.
    public func visibleRows(of alerts: [StoredAlert], to reader: TokenRecord) throws -> [Row] {
        guard let first = alerts.first else { return [] }
        let rows = try rows(of: alerts)
        let seesAll = reader.isOperator || reader.organisation == first.alert.source.organisation
        let readerIsRecipient = rows.values.contains { $0.organisation == reader.organisation }
        var visibility: [String: AckVisibility] = [:]
        for id in rows.keys { visibility[id] = try subscribers.subscriber(id: id)?.ackVisibility ?? .filer }
        return rows.values.filter { row in
            seesAll || row.organisation == reader.organisation || (readerIsRecipient && visibility[row.subscriberID] == .recipients)
        }.sorted { $0.subscriberID < $1.subscriberID }
    }

    /// Every subscriber that received the case: a first sending not skipped, or an escalation
    /// that reached it. A subscriber's latest acknowledgement of any of the case's alerts is its action.
    public func rows(of alerts: [StoredAlert]) throws -> [String: Row] {
        var rows: [String: Row] = [:]
        for stored in alerts {
            for delivery in try deliveries.deliveries(ofAlert: stored.alert.id) {
                let received: Bool
                switch delivery.followUp {
                case nil: received = delivery.state != .skipped && delivery.state != .cancelled
                case .escalation?: received = delivery.state == .delivered
                default: received = false
                }
                guard received else { continue }
                var row = rows[delivery.subscriberID] ?? Row(subscriberID: delivery.subscriberID, organisation: "")
                if delivery.state == .delivered { row.delivered = true }
                rows[delivery.subscriberID] = row
            }
            for ack in try ledger.acknowledgements(ofAlert: stored.alert.id) {
                guard var row = rows[ack.subscriberID] else { continue }
                if row.ack.map({ $0.at <= ack.at }) ?? true {
                    row.ack = ack
                    row.ackClearance = stored.alert.confidentiality
                }
                rows[ack.subscriberID] = row
            }
        }
        for (id, row) in rows {
            var filled = row
            if let ack = row.ack {
                filled.organisation = ack.organisation
                filled.kind = ack.kind
            }
            if let subscriber = try subscribers.subscriber(id: id) {
                filled.organisation = subscriber.organisation
                filled.kind = subscriber.kind
            }
            rows[id] = filled
        }
        return rows
    }
}
