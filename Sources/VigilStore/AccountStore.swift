import Foundation
import VigilCore
import VigilCrypto

/// The `accounts` and `invitations` tables: who may sign in to the console, and the links
/// that let a person make an account (issue 20). Shared by every process: on the embedded
/// backend these are tables of the one file; on Kafka they are caches of the compacted
/// `vigil.accounts` topic, written through it (`account/<id>` and `invitation/<id>`).
///
/// Nothing secret is stored or published in the clear: passwords only as their scrypt hash,
/// TOTP secrets sealed under the master key (`vigil/totp-secrets`, bound to the account id),
/// invitation tokens only as their SHA-256. An invitation is used once: on one process the
/// single writer makes two concurrent accepts of one token yield one account; across Kafka
/// processes the topic keeps the last write, so an invitation link should be handed to one person.
public final class AccountStore: Sendable {
    private let database: Database
    private let seal: SecretSeal
    private let feed: (any ReplicationFeed)?

    /// Accounts kept in `database`, TOTP secrets sealed with `seal` (make it with purpose
    /// `SecretSeal.totpSecrets`); with `feed`, every change is also published there and
    /// `applyReplica` fills the tables from what the feed holds.
    public init(database: Database, seal: SecretSeal, feed: (any ReplicationFeed)? = nil) {
        self.database = database
        self.seal = seal
        self.feed = feed
    }

    // MARK: Invitations

    /// Makes an invitation for `email` and returns it with its token (32 random bytes,
    /// base64url), which is shown only now: the store keeps its SHA-256. Refused when the
    /// email, organisation or language is not acceptable or an account already has the email.
    public func invite(
        email: String, organisation: String, role: AccountRole, clearance: Confidentiality, language: String, subscriberIDs: [String],
        invitedBy: String, now: Timestamp = .now()
    ) throws -> (invitation: Invitation, token: String) {
        let email = try Self.normalisedEmail(email)
        let organisation = try Self.checkedOrganisation(organisation)
        try Self.checkLanguage(language)
        let subscriberIDs = try Self.checkedSubscriberIDs(subscriberIDs)
        guard try account(email: email) == nil else { throw AccountError.emailTaken(email) }
        let token = Base64.encode(SecureRandom.bytes(32), urlSafe: true)
        let invitation = Invitation(
            id: "inv_" + ULID(time: now).description.lowercased(), email: email, organisation: organisation, role: role, clearance: clearance,
            language: language, subscriberIDs: subscriberIDs, invitedBy: invitedBy, createdAt: now,
            expiresAt: now.adding(milliseconds: Invitation.lifetimeMilliseconds))
        let values: [SQLiteValue] = [
            .text(invitation.id), .text(SHA256.hex(token)), .text(email), .text(organisation), .text(role.rawValue), .text(clearance.rawValue),
            .text(language), .text(Self.encode(subscriberIDs)), .text(invitedBy), .integer(now.milliseconds),
            .integer(invitation.expiresAt.milliseconds),
        ]
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run(
                """
                INSERT INTO invitations(id, token_hash, email, organisation, role, clearance, language, subscriber_ids, invited_by,
                    created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, values)
        }
        try replicate(.invitation, invitation.id)
        return (invitation, token)
    }

    /// The invitation whose token is `token`, or `nil` unless it is unused and unexpired at `now`.
    public func invitation(token: String, now: Timestamp = .now()) throws -> Invitation? {
        try database.read { transaction in
            try transaction.connection.query(
                "SELECT \(Self.invitationSelect) FROM invitations WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
                [.text(SHA256.hex(token)), .integer(now.milliseconds)]
            ).first.map(Self.invitation)
        }
    }

    /// Uses the invitation `token` and makes its account, in one transaction: two concurrent
    /// calls with one token make one account. `passwordHash` is the scrypt hash's text form;
    /// `totpSecret`, when given, is enrolled at once. Throws `AccountError.invitationInvalid`
    /// (unknown, used or expired, alike) or `.emailTaken`.
    public func acceptInvitation(token: String, passwordHash: String, totpSecret: [UInt8]?, now: Timestamp = .now()) throws -> Account {
        let accountID = "acct_" + ULID(time: now).description.lowercased()
        let sealed = try totpSecret.map { try seal.seal(bytes: $0, context: accountID) }
        let hash = SHA256.hex(token)
        let invitationID = try database.writeAndWait { transaction -> String in
            let db = transaction.connection
            guard
                let row = try db.query(
                    "SELECT id, email, organisation, role, clearance, language, subscriber_ids FROM invitations "
                        + "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?", [.text(hash), .integer(now.milliseconds)]
                ).first, let id = row.text(0), let email = row.text(1)
            else { throw AccountError.invitationInvalid }
            guard try db.query("SELECT 1 FROM accounts WHERE email = ?", [.text(email)]).isEmpty else { throw AccountError.emailTaken(email) }
            guard try db.run("UPDATE invitations SET used_at = ? WHERE id = ? AND used_at IS NULL", [.integer(now.milliseconds), .text(id)]) == 1
            else { throw AccountError.invitationInvalid }
            try db.run(
                """
                INSERT INTO accounts(id, email, organisation, role, clearance, language, subscriber_ids, password_hash, totp_secret,
                    sessions_valid_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(accountID), .text(email), row.values[2], row.values[3], row.values[4], row.values[5], row.values[6], .text(passwordHash),
                 sealed.map { .text($0) } ?? .null, .integer(now.milliseconds), .integer(now.milliseconds)])
            return id
        }
        try replicate(.invitation, invitationID)
        try replicate(.account, accountID)
        guard let made = try account(id: accountID) else { throw AccountError.unknownAccount(accountID) }
        return made
    }

    /// Every invitation, newest first, used and expired ones included.
    public func invitations() throws -> [Invitation] {
        try database.read { transaction in
            try transaction.connection.query("SELECT \(Self.invitationSelect) FROM invitations ORDER BY created_at DESC, id DESC")
                .map(Self.invitation)
        }
    }

    // MARK: Accounts

    /// The account `id`, or `nil`.
    public func account(id: String) throws -> Account? {
        try database.read { transaction in
            try transaction.connection.query("SELECT \(Self.accountSelect) FROM accounts WHERE id = ?", [.text(id)]).first.map(Self.account)
        }
    }

    /// The account whose email is `email` (compared without case and surrounding spaces), or `nil`.
    public func account(email: String) throws -> Account? {
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return try database.read { transaction in
            try transaction.connection.query("SELECT \(Self.accountSelect) FROM accounts WHERE email = ?", [.text(email)]).first.map(Self.account)
        }
    }

    /// Every account, by email, disabled ones included.
    public func accounts() throws -> [Account] {
        try database.read { transaction in
            try transaction.connection.query("SELECT \(Self.accountSelect) FROM accounts ORDER BY email").map(Self.account)
        }
    }

    /// The TOTP secret of `accountID`, opened from its seal; `nil` when none is enrolled.
    /// Throws when the seal does not open (another master key): sign-in must then fail, not
    /// skip the second factor.
    public func totpSecret(accountID: String) throws -> [UInt8]? {
        let stored = try database.read { transaction in
            try transaction.connection.query("SELECT totp_secret FROM accounts WHERE id = ?", [.text(accountID)]).first
        }
        guard let stored else { throw AccountError.unknownAccount(accountID) }
        guard let sealed = stored.text(0) else { return nil }
        guard let secret = seal.openBytes(sealed, context: accountID) else {
            throw StoreError.corrupt("the TOTP secret of \(accountID) does not open under this master key")
        }
        return secret
    }

    /// Enrols `secret` as the TOTP secret of `accountID` (sealed), replacing any before and
    /// forgetting the last step used.
    public func enrolTOTP(accountID: String, secret: [UInt8]) throws {
        let sealed = try seal.seal(bytes: secret, context: accountID)
        try change(accountID, "UPDATE accounts SET totp_secret = ?, totp_last_step = NULL WHERE id = ?", [.text(sealed), .text(accountID)])
    }

    /// Records that TOTP time step `step` was used by `accountID`; `false` when `step` is not
    /// later than the last one used (a replayed or older code), so each code works once.
    public func useTOTPStep(accountID: String, step: Int64) throws -> Bool {
        let used = try database.writeAndWait { transaction in
            try transaction.connection.run(
                "UPDATE accounts SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
                [.integer(step), .text(accountID), .integer(step)]) > 0
        }
        if used { try replicate(.account, accountID) }
        return used
    }

    /// Sets the password hash of `accountID` and ends every session begun before `now`, in
    /// every process (`sessionsValidAfter` is replicated).
    public func changePassword(accountID: String, passwordHash: String, now: Timestamp = .now()) throws {
        try change(
            accountID, "UPDATE accounts SET password_hash = ?, sessions_valid_after = ? WHERE id = ?",
            [.text(passwordHash), .integer(now.milliseconds), .text(accountID)])
    }

    /// Sets what `accountID` may do and its language.
    public func update(accountID: String, role: AccountRole, clearance: Confidentiality, subscriberIDs: [String], language: String) throws {
        try Self.checkLanguage(language)
        let subscriberIDs = try Self.checkedSubscriberIDs(subscriberIDs)
        try change(
            accountID, "UPDATE accounts SET role = ?, clearance = ?, subscriber_ids = ?, language = ? WHERE id = ?",
            [.text(role.rawValue), .text(clearance.rawValue), .text(Self.encode(subscriberIDs)), .text(language), .text(accountID)])
    }

    /// Disables `accountID` and ends its sessions; `false` when it is unknown or already disabled.
    public func disable(accountID: String, now: Timestamp = .now()) throws -> Bool {
        let disabled = try database.writeAndWait { transaction in
            try transaction.connection.run(
                "UPDATE accounts SET disabled_at = ?, sessions_valid_after = ? WHERE id = ? AND disabled_at IS NULL",
                [.integer(now.milliseconds), .integer(now.milliseconds), .text(accountID)]) > 0
        }
        if disabled { try replicate(.account, accountID) }
        return disabled
    }

    /// Runs `sql` (an update of one account) and publishes the row; throws `unknownAccount`
    /// when no row changed.
    private func change(_ accountID: String, _ sql: String, _ values: [SQLiteValue]) throws {
        let changed = try database.writeAndWait { try $0.connection.run(sql, values) > 0 }
        guard changed else { throw AccountError.unknownAccount(accountID) }
        try replicate(.account, accountID)
    }

    // MARK: Replication

    /// The two kinds of record on the feed, by key prefix.
    enum Table: String, CaseIterable {
        case account
        case invitation

        var name: String { self == .account ? "accounts" : "invitations" }
        var columns: [String] { self == .account ? AccountStore.accountColumns : AccountStore.invitationColumns }
        /// The column, besides `id`, that is unique.
        var uniqueColumn: String { self == .account ? "email" : "token_hash" }
    }

    static let accountColumns = [
        "id", "email", "organisation", "role", "clearance", "language", "subscriber_ids", "password_hash", "totp_secret", "totp_last_step",
        "sessions_valid_after", "created_at", "disabled_at",
    ]
    static let invitationColumns = [
        "id", "token_hash", "email", "organisation", "role", "clearance", "language", "subscriber_ids", "invited_by", "created_at",
        "expires_at", "used_at",
    ]

    /// Publishes the row `id` of `table` to the feed, if there is one: `subscriber_ids` as an
    /// array, numbers as numbers, absent values left out.
    private func replicate(_ table: Table, _ id: String) throws {
        guard let feed else { return }
        let columns = table.columns
        let row = try database.read { transaction in
            try transaction.connection.query("SELECT \(columns.joined(separator: ", ")) FROM \(table.name) WHERE id = ?", [.text(id)]).first
        }
        guard let row else { return }
        var w = JSONWriter()
        w.beginObject()
        for (index, column) in columns.enumerated() {
            switch row.values[index] {
            case .null: continue
            case .integer(let number):
                w.key(column)
                w.integer(number)
            default:
                w.key(column)
                if column == "subscriber_ids" { w.strings(Self.decode(row.text(index) ?? "[]")) } else { w.string(row.text(index) ?? "") }
            }
        }
        w.endObject()
        try feed.publish(key: "\(table.rawValue)/\(id)", value: w.bytes)
    }

    /// Makes the record under `key` (`account/<id>` or `invitation/<id>`) what `value` says,
    /// as another process published it (`nil` deletes it); the feed is not written again.
    /// Every field is checked, numbers and vocabulary included: a malformed record is refused
    /// with `StoreError.corrupt` and changes nothing.
    public func applyReplica(key: String, value: [UInt8]?) throws {
        let parts = key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let table = Table(rawValue: String(parts[0])), ReplicaFields.isIdentifier(String(parts[1]), prefix: table == .account ? "acct_" : "inv_")
        else { throw StoreError.corrupt("an accounts record under an unknown key") }
        let id = String(parts[1])
        guard let value else {
            _ = try database.writeAndWait { try $0.connection.run("DELETE FROM \(table.name) WHERE id = ?", [.text(id)]) }
            return
        }
        guard case .object(let object)? = try? JSONParser.parse(value) else { throw StoreError.corrupt("an accounts record that is not a JSON object") }
        let fields = ReplicaFields(object: object, what: "\(table.rawValue) \(id)")
        guard try fields.text("id") == id else { throw StoreError.corrupt("the \(table.rawValue) record under \(key) names another id") }
        let values = try table == .account ? fields.accountValues() : fields.invitationValues()
        let columns = table.columns
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run(
                "DELETE FROM \(table.name) WHERE id = ? OR \(table.uniqueColumn) = ?", [values[0], values[1]])
            try transaction.connection.run(
                "INSERT INTO \(table.name)(\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))", values)
        }
    }

    /// Empties both tables before they are filled again from the feed.
    public func clearReplica() throws {
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run("DELETE FROM accounts")
            try transaction.connection.run("DELETE FROM invitations")
        }
    }

    // MARK: Checks and rows

    /// `text` trimmed and lowercased, when it is an email address.
    static func normalisedEmail(_ text: String) throws(AccountError) -> String {
        let email = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard FieldReader.isEmailAddress(email), !email.contains(where: \.isNewline) else { throw AccountError.invalidEmail }
        return email
    }

    static func checkedOrganisation(_ text: String) throws(AccountError) -> String {
        let organisation = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard ReplicaFields.isName(organisation) else { throw AccountError.invalidOrganisation }
        return organisation
    }

    static func checkLanguage(_ language: String) throws(AccountError) {
        guard Account.languages.contains(language) else { throw AccountError.unsupportedLanguage(language) }
    }

    static func checkedSubscriberIDs(_ ids: [String]) throws(AccountError) -> [String] {
        var seen: [String] = []
        for id in ids where !seen.contains(id) {
            guard ReplicaFields.isName(id), seen.count < ReplicaFields.maxSubscribers else { throw AccountError.invalidSubscriberIDs }
            seen.append(id)
        }
        return seen
    }

    static func encode(_ ids: [String]) -> String {
        var w = JSONWriter(capacity: 64)
        w.strings(ids)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func decode(_ text: String) -> [String] {
        guard case .array(let items)? = try? JSONParser.parse(Array(text.utf8)) else { return [] }
        return items.compactMap { if case .string(let id) = $0 { id } else { nil } }
    }

    private static let accountSelect =
        "id, email, organisation, role, clearance, language, subscriber_ids, password_hash, totp_secret IS NOT NULL, sessions_valid_after, created_at, disabled_at"

    private static func account(_ row: SQLiteRow) -> Account {
        Account(
            id: row.text(0) ?? "", email: row.text(1) ?? "", organisation: row.text(2) ?? "", role: AccountRole(rawValue: row.text(3) ?? "") ?? .partner,
            clearance: Confidentiality(rawValue: row.text(4) ?? "") ?? .public, language: row.text(5) ?? "en",
            subscriberIDs: decode(row.text(6) ?? "[]"), passwordHash: row.text(7) ?? "", totpEnrolled: (row.int(8) ?? 0) != 0,
            sessionsValidAfter: Timestamp(milliseconds: row.int(9) ?? 0), createdAt: Timestamp(milliseconds: row.int(10) ?? 0),
            disabledAt: row.int(11).map { Timestamp(milliseconds: $0) })
    }

    private static let invitationSelect =
        "id, email, organisation, role, clearance, language, subscriber_ids, invited_by, created_at, expires_at, used_at"

    private static func invitation(_ row: SQLiteRow) -> Invitation {
        Invitation(
            id: row.text(0) ?? "", email: row.text(1) ?? "", organisation: row.text(2) ?? "", role: AccountRole(rawValue: row.text(3) ?? "") ?? .partner,
            clearance: Confidentiality(rawValue: row.text(4) ?? "") ?? .public, language: row.text(5) ?? "en",
            subscriberIDs: decode(row.text(6) ?? "[]"), invitedBy: row.text(7) ?? "", createdAt: Timestamp(milliseconds: row.int(8) ?? 0),
            expiresAt: Timestamp(milliseconds: row.int(9) ?? 0), usedAt: row.int(10).map { Timestamp(milliseconds: $0) })
    }
}

/// Why an account or invitation change was refused.
public enum AccountError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The invitation is unknown, used or expired (deliberately not saying which).
    case invitationInvalid
    /// An account already has this email.
    case emailTaken(String)
    /// No account has this id.
    case unknownAccount(String)
    /// The email is not an email address.
    case invalidEmail
    /// The organisation is empty, too long or has control characters.
    case invalidOrganisation
    /// The language is not one the console speaks.
    case unsupportedLanguage(String)
    /// A subscriber id is empty, too long or has control characters, or there are too many.
    case invalidSubscriberIDs

    public var description: String {
        switch self {
        case .invitationInvalid: "this invitation link is not valid (it may have expired or been used); ask for a new one"
        case .emailTaken(let email): "an account with the email \(email) already exists (see vigil users list); invite another address"
        case .unknownAccount(let id): "no account is known as \(id); see vigil users list"
        case .invalidEmail: "the email is not an email address (name@example.org)"
        case .invalidOrganisation: "the organisation must be 1 to 200 characters, without control characters"
        case .unsupportedLanguage(let language): "the language '\(language)' is not one of \(Account.languages.joined(separator: ", "))"
        case .invalidSubscriberIDs: "subscriber ids must be 1 to 200 characters without control characters, at most \(ReplicaFields.maxSubscribers)"
        }
    }
}

/// The fields of an accounts record read from the feed, each checked before it is stored:
/// the feed is outside input.
private struct ReplicaFields {
    let object: [String: JSONValue]
    let what: String

    static let maxSubscribers = 200

    /// 1 to 200 characters without control characters.
    static func isName(_ text: String) -> Bool {
        (1...200).contains(text.count) && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// `prefix` followed by 1 to 64 lowercase letters and digits.
    static func isIdentifier(_ text: String, prefix: String) -> Bool {
        guard text.hasPrefix(prefix) else { return false }
        let rest = text.dropFirst(prefix.count)
        return (1...64).contains(rest.count) && rest.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber) }
    }

    func corrupt(_ field: String, _ problem: String) -> StoreError { StoreError.corrupt("\(what): \(field) \(problem)") }

    func text(_ field: String, _ valid: (String) -> Bool = isName) throws -> String {
        guard case .string(let text)? = object[field], valid(text) else { throw corrupt(field, "is missing or not acceptable") }
        return text
    }

    func optionalText(_ field: String, _ valid: (String) -> Bool) throws -> SQLiteValue {
        if object[field] == nil || object[field] == .null { return .null }
        return .text(try text(field, valid))
    }

    func integer(_ field: String) throws -> Int64 {
        guard let value = object[field] else { throw corrupt(field, "is missing") }
        guard let number = value.exactInt64, number >= 0 else { throw corrupt(field, "is not a whole number from 0 to 2^53") }
        return number
    }

    func optionalInteger(_ field: String) throws -> SQLiteValue {
        if object[field] == nil || object[field] == .null { return .null }
        return .integer(try integer(field))
    }

    func vocabulary<V: RawRepresentable<String>>(_ field: String, _ type: V.Type) throws -> String {
        try text(field) { V(rawValue: $0) != nil }
    }

    func subscriberIDs() throws -> String {
        guard case .array(let items)? = object["subscriber_ids"], items.count <= Self.maxSubscribers else {
            throw corrupt("subscriber_ids", "is not an array of at most \(Self.maxSubscribers)")
        }
        let ids = try items.map { item -> String in
            guard case .string(let id) = item, Self.isName(id) else { throw corrupt("subscriber_ids", "holds something other than an id") }
            return id
        }
        return AccountStore.encode(ids)
    }

    func email() throws -> String {
        try text("email") { FieldReader.isEmailAddress($0) && $0 == $0.lowercased() }
    }

    static func isSealed(_ text: String) -> Bool { text.hasPrefix("v1:") && (4...1024).contains(text.utf8.count) }

    /// The values of `AccountStore.accountColumns`, in order.
    func accountValues() throws -> [SQLiteValue] {
        [
            .text(try text("id") { Self.isIdentifier($0, prefix: "acct_") }), .text(try email()), .text(try text("organisation")),
            .text(try vocabulary("role", AccountRole.self)), .text(try vocabulary("clearance", Confidentiality.self)),
            .text(try text("language") { Account.languages.contains($0) }), .text(try subscriberIDs()),
            .text(try text("password_hash") { hash in
                (1...512).contains(hash.utf8.count) && !hash.unicodeScalars.contains { $0.properties.generalCategory == .control }
            }),
            try optionalText("totp_secret", Self.isSealed), try optionalInteger("totp_last_step"), .integer(try integer("sessions_valid_after")),
            .integer(try integer("created_at")), try optionalInteger("disabled_at"),
        ]
    }

    /// The values of `AccountStore.invitationColumns`, in order.
    func invitationValues() throws -> [SQLiteValue] {
        [
            .text(try text("id") { Self.isIdentifier($0, prefix: "inv_") }),
            .text(try text("token_hash") { $0.utf8.count == 64 && $0.allSatisfy { $0.isHexDigit && !$0.isUppercase } }), .text(try email()),
            .text(try text("organisation")), .text(try vocabulary("role", AccountRole.self)),
            .text(try vocabulary("clearance", Confidentiality.self)), .text(try text("language") { Account.languages.contains($0) }),
            .text(try subscriberIDs()), .text(try text("invited_by")), .integer(try integer("created_at")), .integer(try integer("expires_at")),
            try optionalInteger("used_at"),
        ]
    }
}
