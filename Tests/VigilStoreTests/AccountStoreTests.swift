import Foundation
import Synchronization
import Testing
import VigilCore
import VigilCrypto
@testable import VigilStore

/// Console accounts and invitations (issue 20): an invitation is used once, within 72 hours;
/// secrets are kept only sealed or hashed; every change replicates as a checked row.
@Suite struct AccountStoreTests {
    /// A feed that keeps what was published, in order, as a compacted topic would.
    final class RecordingFeed: ReplicationFeed, Sendable {
        let records = Mutex<[(key: String, value: [UInt8]?)]>([])
        func publish(key: String, value: [UInt8]?) throws { records.withLock { $0.append((key, value)) } }
        var all: [(key: String, value: [UInt8]?)] { records.withLock { $0 } }
    }

    let t0 = Timestamp(milliseconds: 1_800_000_000_000)

    func store(feed: (any ReplicationFeed)? = nil) throws -> (AccountStore, Database, String) {
        let path = temporaryDatabasePath()
        let database = try Database(path: path)
        return (AccountStore(database: database, seal: SecretSeal(masterKey: testMasterKey, purpose: SecretSeal.totpSecrets), feed: feed), database, path)
    }

    func invite(_ accounts: AccountStore, _ email: String = "Ana@Example.ORG ", role: AccountRole = .partner, at now: Timestamp? = nil) throws
        -> (invitation: Invitation, token: String)
    {
        try accounts.invite(
            email: email, organisation: "ngo-a", role: role, clearance: .restricted, language: "fr", subscriberIDs: role == .desk ? ["sub_1"] : [],
            invitedBy: "local:test", now: now ?? t0)
    }

    @Test func anInvitationIsStoredAsAHashAndMakesOneAccountOnce() throws {
        let (accounts, database, _) = try store()
        let (invitation, token) = try invite(accounts)
        #expect(invitation.id.hasPrefix("inv_") && invitation.id == invitation.id.lowercased() && invitation.email == "ana@example.org")
        #expect(invitation.expiresAt.milliseconds - t0.milliseconds == Invitation.lifetimeMilliseconds)
        #expect(Base64.decode(token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=")?.count == 32)
        let stored = try database.read { try $0.connection.query("SELECT token_hash FROM invitations").map { $0.text(0) ?? "" } }
        #expect(stored == [SHA256.hex(token)], "only the token's SHA-256 is kept")
        #expect(try accounts.invitation(token: token, now: t0) == invitation)
        #expect(try accounts.invitation(token: token + "x", now: t0) == nil)

        let account = try accounts.acceptInvitation(token: token, passwordHash: "scrypt$hash", totpSecret: nil, now: t0.adding(milliseconds: 1000))
        #expect(account.id.hasPrefix("acct_") && account.email == "ana@example.org" && account.organisation == "ngo-a")
        #expect(account.role == .partner && account.clearance == .restricted && account.language == "fr" && !account.totpEnrolled)
        #expect(account.sessionsValidAfter == t0.adding(milliseconds: 1000) && account.disabledAt == nil)
        #expect(try accounts.account(email: "  ANA@example.org") == account)
        #expect(try accounts.account(id: account.id) == account)
        #expect(try accounts.invitation(token: token, now: t0) == nil, "a used invitation is no longer offered")
        #expect(throws: AccountError.invitationInvalid) { try accounts.acceptInvitation(token: token, passwordHash: "h", totpSecret: nil, now: t0) }
        #expect(try accounts.invitations().first?.usedAt == t0.adding(milliseconds: 1000))
    }

    @Test func unknownExpiredAndUsedInvitationsFailAlike() throws {
        let (accounts, _, _) = try store()
        let (_, token) = try invite(accounts)
        let expiry = t0.adding(milliseconds: Invitation.lifetimeMilliseconds)
        #expect(try accounts.invitation(token: token, now: expiry.adding(milliseconds: -1)) != nil)
        #expect(try accounts.invitation(token: token, now: expiry) == nil)
        let unknown = #expect(throws: AccountError.self) { try accounts.acceptInvitation(token: "nope", passwordHash: "h", totpSecret: nil, now: t0) }
        let expired = #expect(throws: AccountError.self) { try accounts.acceptInvitation(token: token, passwordHash: "h", totpSecret: nil, now: expiry) }
        #expect(unknown == .invitationInvalid && expired == .invitationInvalid)
        #expect(unknown?.description == expired?.description && !(unknown?.description.contains("expired (") ?? true))
        #expect(try accounts.accounts().isEmpty, "an expired invitation made nothing")
    }

    @Test func twoConcurrentAcceptsOfOneInvitationMakeOneAccount() async throws {
        let (accounts, _, _) = try store()
        let (_, token) = try invite(accounts)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (try? accounts.acceptInvitation(token: token, passwordHash: "h", totpSecret: nil, now: self.t0)) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try accounts.accounts().count == 1)
    }

    @Test func emailsAreValidatedAndUnique() throws {
        let (accounts, _, _) = try store()
        #expect(throws: AccountError.invalidEmail) { try invite(accounts, "not an email") }
        #expect(throws: AccountError.invalidEmail) { try invite(accounts, "a@b") }
        #expect(throws: AccountError.unsupportedLanguage("de")) {
            try accounts.invite(email: "x@example.org", organisation: "o", role: .partner, clearance: .public, language: "de", subscriberIDs: [], invitedBy: "t")
        }
        #expect(throws: AccountError.invalidOrganisation) {
            try accounts.invite(email: "x@example.org", organisation: "  ", role: .partner, clearance: .public, language: "en", subscriberIDs: [], invitedBy: "t")
        }
        let first = try invite(accounts)
        let second = try invite(accounts, "ANA@example.org", at: t0.adding(milliseconds: 1))
        _ = try accounts.acceptInvitation(token: first.token, passwordHash: "h", totpSecret: nil, now: t0)
        #expect(throws: AccountError.emailTaken("ana@example.org")) {
            try accounts.acceptInvitation(token: second.token, passwordHash: "h", totpSecret: nil, now: t0)
        }
        #expect(try accounts.invitation(token: second.token, now: t0) != nil, "a refused accept leaves the invitation unused")
        #expect(throws: AccountError.emailTaken("ana@example.org")) { try invite(accounts, "ana@example.org") }
        #expect(try accounts.invitations().map(\.id) == [second.invitation.id, first.invitation.id], "newest first")
    }

    @Test func totpSecretsAreSealedAndEachStepIsUsedOnce() throws {
        let (accounts, database, path) = try store()
        let (_, token) = try invite(accounts, role: .operator)
        let secret = Array("TOTPSECRETBYTES-0123456789".utf8)
        let account = try accounts.acceptInvitation(token: token, passwordHash: "h", totpSecret: secret, now: t0)
        #expect(account.totpEnrolled)
        #expect(try accounts.totpSecret(accountID: account.id) == secret)
        let sealed = try database.read { try $0.connection.query("SELECT totp_secret FROM accounts").first?.text(0) }
        #expect(sealed?.hasPrefix("v1:") == true)
        #expect(SecretSeal(masterKey: testMasterKey).openBytes(sealed ?? "", context: account.id) == nil, "the webhook key does not open it")
        #expect(SecretSeal(masterKey: testMasterKey, purpose: SecretSeal.totpSecrets).openBytes(sealed ?? "", context: "acct_other") == nil)

        #expect(try accounts.useTOTPStep(accountID: account.id, step: 100))
        #expect(try !accounts.useTOTPStep(accountID: account.id, step: 100), "a replayed code is refused")
        #expect(try !accounts.useTOTPStep(accountID: account.id, step: 99), "an older code is refused")
        #expect(try accounts.useTOTPStep(accountID: account.id, step: 101))

        let next = Array("ANOTHER-SECRET-9876543210".utf8)
        try accounts.enrolTOTP(accountID: account.id, secret: next)
        #expect(try accounts.totpSecret(accountID: account.id) == next)
        #expect(try accounts.useTOTPStep(accountID: account.id, step: 50), "a new enrolment forgets the old steps")
        #expect(throws: AccountError.unknownAccount("acct_none")) { try accounts.enrolTOTP(accountID: "acct_none", secret: next) }
        database.close()
        let raw = try String(decoding: Data(contentsOf: URL(fileURLWithPath: path)), as: Unicode.ASCII.self)
        #expect(!raw.contains("TOTPSECRETBYTES") && !raw.contains("ANOTHER-SECRET"), "no secret in the raw file")
    }

    @Test func passwordChangeUpdateAndDisable() throws {
        let (accounts, _, _) = try store()
        let (_, token) = try invite(accounts, role: .desk)
        let account = try accounts.acceptInvitation(token: token, passwordHash: "old", totpSecret: nil, now: t0)
        #expect(account.subscriberIDs == ["sub_1"])
        try accounts.changePassword(accountID: account.id, passwordHash: "new", now: t0.adding(milliseconds: 5000))
        var read = try #require(try accounts.account(id: account.id))
        #expect(read.passwordHash == "new" && read.sessionsValidAfter == t0.adding(milliseconds: 5000))
        try accounts.update(accountID: account.id, role: .partner, clearance: .confidential, subscriberIDs: [], language: "ru")
        read = try #require(try accounts.account(id: account.id))
        #expect(read.role == .partner && read.clearance == .confidential && read.subscriberIDs.isEmpty && read.language == "ru")
        #expect(throws: AccountError.unsupportedLanguage("xx")) {
            try accounts.update(accountID: account.id, role: .partner, clearance: .public, subscriberIDs: [], language: "xx")
        }
        #expect(throws: AccountError.unknownAccount("acct_none")) { try accounts.changePassword(accountID: "acct_none", passwordHash: "h") }
        #expect(try accounts.disable(accountID: account.id, now: t0.adding(milliseconds: 9000)))
        #expect(try !accounts.disable(accountID: account.id, now: t0.adding(milliseconds: 9999)), "already disabled")
        read = try #require(try accounts.account(id: account.id))
        #expect(read.disabledAt == t0.adding(milliseconds: 9000) && read.sessionsValidAfter == t0.adding(milliseconds: 9000))
    }

    @Test func changesReplicateAsCheckedRowsWithoutSecrets() throws {
        let feed = RecordingFeed()
        let (source, _, _) = try store(feed: feed)
        let (replica, _, _) = try store()
        let (invitation, token) = try invite(source, role: .admin)
        let account = try source.acceptInvitation(token: token, passwordHash: "scrypt$h", totpSecret: Array("SEEKRIT-TOTP".utf8), now: t0)
        _ = try source.useTOTPStep(accountID: account.id, step: 7)
        _ = try source.disable(accountID: account.id, now: t0.adding(milliseconds: 1))
        #expect(feed.all.map(\.key) == [
            "invitation/\(invitation.id)", "invitation/\(invitation.id)", "account/\(account.id)", "account/\(account.id)", "account/\(account.id)",
        ])
        for record in feed.all {
            let text = String(decoding: record.value ?? [], as: UTF8.self)
            #expect(!text.contains(token) && !text.contains("SEEKRIT"), "tokens only hashed, secrets only sealed")
            try replica.applyReplica(key: record.key, value: record.value)
        }
        #expect(try replica.account(id: account.id) == source.account(id: account.id))
        #expect(try replica.invitations() == source.invitations())
        #expect(try replica.totpSecret(accountID: account.id) == Array("SEEKRIT-TOTP".utf8), "the sealed secret opens under the same master key")
        #expect(try !replica.useTOTPStep(accountID: account.id, step: 7), "the last used step is replicated too")
        try replica.applyReplica(key: "account/\(account.id)", value: nil)
        #expect(try replica.account(id: account.id) == nil)
        try replica.clearReplica()
        #expect(try replica.invitations().isEmpty)
    }

    @Test func malformedReplicasAreRefusedAndChangeNothing() throws {
        let feed = RecordingFeed()
        let (source, _, _) = try store(feed: feed)
        let (replica, _, _) = try store()
        let (_, token) = try invite(source)
        let account = try source.acceptInvitation(token: token, passwordHash: "h", totpSecret: nil, now: t0)
        let row = try #require(feed.all.last?.value)
        let good = String(decoding: row, as: UTF8.self)
        func edited(_ from: String, _ to: String) -> [UInt8] { Array(good.replacingOccurrences(of: from, with: to).utf8) }
        let bad: [(String, [UInt8])] = [
            ("account/\(account.id)", Array("[1]".utf8)),
            ("account/\(account.id)", Array("not json".utf8)),
            ("account/\(account.id)", edited("\"created_at\":\(t0.milliseconds)", "\"created_at\":1e19")),
            ("account/\(account.id)", edited("\"created_at\":\(t0.milliseconds)", "\"created_at\":1.5")),
            ("account/\(account.id)", edited("\"created_at\":\(t0.milliseconds)", "\"created_at\":-1")),
            ("account/\(account.id)", edited("\"role\":\"partner\"", "\"role\":\"god\"")),
            ("account/\(account.id)", edited("\"clearance\":\"restricted\"", "\"clearance\":\"top\"")),
            ("account/\(account.id)", edited("\"language\":\"fr\"", "\"language\":\"xx\"")),
            ("account/\(account.id)", edited("\"email\":\"ana@example.org\"", "\"email\":\"nobody\"")),
            ("account/\(account.id)", edited("\"subscriber_ids\":[]", "\"subscriber_ids\":[1]")),
            ("account/\(account.id)", edited("\"organisation\":\"ngo-a\"", "\"organisation\":\"\"")),
            ("account/acct_other", row),
            ("account/\(account.id.uppercased())", row),
            ("robot/\(account.id)", row),
            ("account", row),
        ]
        for (key, value) in bad {
            #expect(throws: StoreError.self, "\(key) \(String(decoding: value, as: UTF8.self))") { try replica.applyReplica(key: key, value: value) }
        }
        #expect(try replica.accounts().isEmpty)
        try replica.applyReplica(key: "account/\(account.id)", value: row)
        #expect(try replica.account(id: account.id) == account)
    }
}
