import VigilCore
import VigilCrypto

/// The `acks` table (issue 19): one acknowledgement per (alert, subscriber), its note sealed
/// with the alert's data key through the alert log, so erasing the alert erases the note.
///
/// With a feed (the Kafka backend's compacted `vigil.acks`), every change is also published
/// under `<alert>/<subscriber>` (the note only sealed) and `applyReplica` fills the table
/// from what the feed holds, so the table is a cache of the topic.
public final class AcknowledgementStore: AcknowledgementLedger, Sendable {
    /// The compacted topic the Kafka backend publishes acknowledgements to.
    public static let topic = "vigil.acks"
    /// The largest sealed note a replica may carry (a note is short free text; AES-GCM adds 28 bytes).
    static let maxSealedNote = 16 * 1024
    /// The longest alert or subscriber id a replica may name.
    static let maxIDLength = 128

    private let database: Database
    private let seal: @Sendable (_ text: String, _ alertID: String) throws -> [UInt8]
    private let open: @Sendable (_ sealed: [UInt8], _ alertID: String) -> String?
    private let feed: (any ReplicationFeed)?

    /// Acknowledgements kept in `database`, notes sealed with `seal` and opened with `open`
    /// (an alert log's `sealNote` and `openNote`); with `feed`, published as above.
    public init(
        database: Database, seal: @escaping @Sendable (_ text: String, _ alertID: String) throws -> [UInt8],
        open: @escaping @Sendable (_ sealed: [UInt8], _ alertID: String) -> String?, feed: (any ReplicationFeed)? = nil
    ) {
        self.database = database
        self.seal = seal
        self.open = open
        self.feed = feed
    }

    /// Acknowledgements kept in `database`, their notes sealed with the data keys of `log`.
    public convenience init(database: Database, log: any AlertLog, feed: (any ReplicationFeed)? = nil) {
        self.init(
            database: database, seal: { [log] text, id in try log.sealNote(text, forAlert: id) },
            open: { [log] sealed, id in log.openNote(sealed, forAlert: id) }, feed: feed)
    }

    @discardableResult
    public func acknowledge(_ ack: Acknowledgement) throws -> Bool {
        // Sealed before the write: the writer thread does no cryptography.
        let note: SQLiteValue = try ack.note.map { .blob(try seal($0, ack.alertID)) } ?? .null
        let first = try database.writeAndWait { transaction in
            let held = try transaction.connection.query(
                "SELECT action FROM acks WHERE alert_id = ? AND subscriber_id = ?", [.text(ack.alertID), .text(ack.subscriberID)]
            ).first
            if let held {
                if held.text(0) == ack.action.rawValue {
                    // The same answer again: only its time moves.
                    try transaction.connection.run(
                        "UPDATE acks SET at = ? WHERE alert_id = ? AND subscriber_id = ?",
                        [.integer(ack.at.milliseconds), .text(ack.alertID), .text(ack.subscriberID)])
                } else {
                    try transaction.connection.run(
                        "UPDATE acks SET action = ?, at = ?, via = ?, note = ? WHERE alert_id = ? AND subscriber_id = ?",
                        [.text(ack.action.rawValue), .integer(ack.at.milliseconds), .text(ack.via.rawValue), note, .text(ack.alertID),
                         .text(ack.subscriberID)])
                }
                return false
            }
            try transaction.connection.run(
                "INSERT INTO acks(alert_id, subscriber_id, organisation, kind, action, at, via, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [.text(ack.alertID), .text(ack.subscriberID), .text(ack.organisation), .text(ack.kind.rawValue), .text(ack.action.rawValue),
                 .integer(ack.at.milliseconds), .text(ack.via.rawValue), note])
            return true
        }
        try replicate(alertID: ack.alertID, subscriberID: ack.subscriberID)
        return first
    }

    public func acknowledgements(ofAlert id: String) throws -> [Acknowledgement] {
        let rows = try database.read { transaction in
            try transaction.connection.query(Self.selection + " WHERE alert_id = ? ORDER BY subscriber_id", [.text(id)])
        }
        return try rows.map { row in
            guard let stored = Self.stored(row) else { throw StoreError.corrupt("an acknowledgement row whose columns do not read") }
            var ack = stored.ack
            ack.note = stored.sealedNote.flatMap { open($0, ack.alertID) }
            return ack
        }
    }

    public func isAcknowledged(_ alertID: String, byAnyOf subscriberIDs: Set<String>) throws -> Bool {
        guard !subscriberIDs.isEmpty else { return false }
        let ids = subscriberIDs.sorted()
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        return try database.read { transaction in
            try !transaction.connection.query(
                "SELECT 1 FROM acks WHERE alert_id = ? AND subscriber_id IN (\(marks)) LIMIT 1", [.text(alertID)] + ids.map { .text($0) }
            ).isEmpty
        }
    }

    // MARK: Replication

    private static let selection = "SELECT alert_id, subscriber_id, organisation, kind, action, at, via, note FROM acks"

    /// The feed key of an acknowledgement.
    static func key(alertID: String, subscriberID: String) -> String { "\(alertID)/\(subscriberID)" }

    /// Publishes the row of (`alertID`, `subscriberID`) to the feed, if there is one.
    private func replicate(alertID: String, subscriberID: String) throws {
        guard let feed else { return }
        let row = try database.read { transaction in
            try transaction.connection.query(Self.selection + " WHERE alert_id = ? AND subscriber_id = ?", [.text(alertID), .text(subscriberID)])
                .first
        }
        guard let row, let stored = Self.stored(row) else { return }
        let ack = stored.ack
        var w = JSONWriter()
        w.beginObject()
        w.field("alert_id", ack.alertID)
        w.field("subscriber_id", ack.subscriberID)
        w.field("organisation", ack.organisation)
        w.field("kind", ack.kind.rawValue)
        w.field("action", ack.action.rawValue)
        w.key("at")
        w.integer(ack.at.milliseconds)
        w.field("via", ack.via.rawValue)
        if let sealed = stored.sealedNote { w.field("note", Base64.encode(sealed)) }
        w.endObject()
        try feed.publish(key: Self.key(alertID: alertID, subscriberID: subscriberID), value: w.bytes)
    }

    /// Makes the acknowledgement under `key` what `value` says (as another process published
    /// it; `nil` deletes it); the feed is not written again. A record from the topic is
    /// outside input: one that does not read as an acknowledgement of its own key (unknown
    /// words, a time that is not a whole number, an id too long or holding control
    /// characters, a note that is not base64 or too large) throws `StoreError.corrupt` and
    /// changes nothing.
    public func applyReplica(key: String, value: [UInt8]?) throws {
        guard let value else {
            _ = try database.writeAndWait { transaction in
                try transaction.connection.run("DELETE FROM acks WHERE alert_id || '/' || subscriber_id = ?", [.text(key)])
            }
            return
        }
        let (ack, sealedNote) = try Self.parseReplica(key: key, value: value)
        let note: SQLiteValue = sealedNote.map { .blob($0) } ?? .null
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run(
                """
                INSERT INTO acks(alert_id, subscriber_id, organisation, kind, action, at, via, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(alert_id, subscriber_id) DO UPDATE SET organisation = excluded.organisation, kind = excluded.kind,
                    action = excluded.action, at = excluded.at, via = excluded.via, note = excluded.note
                """,
                [.text(ack.alertID), .text(ack.subscriberID), .text(ack.organisation), .text(ack.kind.rawValue), .text(ack.action.rawValue),
                 .integer(ack.at.milliseconds), .text(ack.via.rawValue), note])
        }
    }

    /// The acknowledgement (note left out) and sealed note a replica record holds, checked
    /// as outside input.
    static func parseReplica(key: String, value: [UInt8]) throws -> (Acknowledgement, [UInt8]?) {
        guard case .object(let fields) = try JSONParser.parse(value) else { throw StoreError.corrupt("an acknowledgement replica that is not an object") }
        func text(_ name: String) throws -> String {
            guard case .string(let text)? = fields[name] else { throw StoreError.corrupt("an acknowledgement replica without a text \(name)") }
            return text
        }
        func id(_ name: String) throws -> String {
            let id = try text(name)
            guard !id.isEmpty, id.utf8.count <= maxIDLength, !id.contains("/"), !id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else { throw StoreError.corrupt("an acknowledgement replica whose \(name) is not an id (1 to \(maxIDLength) bytes, no '/' or control characters)") }
            return id
        }
        func word<W: Vocabulary>(_ name: String, _: W.Type) throws -> W {
            guard let word = W(rawValue: try text(name)) else {
                throw StoreError.corrupt("an acknowledgement replica whose \(name) is not one of \(W.allowedWords)")
            }
            return word
        }
        let alertID = try id("alert_id"), subscriberID = try id("subscriber_id")
        guard key == Self.key(alertID: alertID, subscriberID: subscriberID) else {
            throw StoreError.corrupt("an acknowledgement replica filed under another key than its alert and subscriber")
        }
        let organisation = try text("organisation")
        guard organisation.utf8.count <= 256, !organisation.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw StoreError.corrupt("an acknowledgement replica whose organisation is longer than 256 bytes or holds control characters")
        }
        // A number from the topic is never trusted to fit: 1e19 is refused, not trapped on.
        guard case .number(let number)? = fields["at"], let at = JSONValue.exactInt64(number), at >= 0 else {
            throw StoreError.corrupt("an acknowledgement replica whose at is not a whole, non-negative number within 2^53")
        }
        var sealedNote: [UInt8]?
        if let note = fields["note"], note != .null {
            guard case .string(let encoded) = note, encoded.utf8.count <= maxSealedNote * 4 / 3 + 4, let sealed = Base64.decode(encoded),
                sealed.count <= maxSealedNote
            else { throw StoreError.corrupt("an acknowledgement replica whose note is not base64 of at most \(maxSealedNote) bytes") }
            sealedNote = sealed
        }
        let ack = Acknowledgement(
            alertID: alertID, subscriberID: subscriberID, organisation: organisation, kind: try word("kind", SubscriberKind.self),
            action: try word("action", AckAction.self), at: Timestamp(milliseconds: at), via: try word("via", Acknowledgement.Via.self))
        return (ack, sealedNote)
    }

    /// Empties the table before it is filled again from the feed.
    public func clearReplica() throws {
        _ = try database.writeAndWait { try $0.connection.run("DELETE FROM acks") }
    }

    /// The acknowledgement a row holds (its note left out) and its sealed note.
    private static func stored(_ row: SQLiteRow) -> (ack: Acknowledgement, sealedNote: [UInt8]?)? {
        guard let alertID = row.text(0), let subscriberID = row.text(1), let organisation = row.text(2),
            let kind = row.text(3).flatMap(SubscriberKind.init(rawValue:)), let action = row.text(4).flatMap(AckAction.init(rawValue:)),
            let at = row.int(5), let via = row.text(6).flatMap(Acknowledgement.Via.init(rawValue:))
        else { return nil }
        return (Acknowledgement(
            alertID: alertID, subscriberID: subscriberID, organisation: organisation, kind: kind, action: action,
            at: Timestamp(milliseconds: at), via: via), row.blob(7))
    }
}
