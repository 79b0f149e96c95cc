import Foundation
import Testing
import VigilCore
import VigilCrypto
@testable import VigilStore

/// Console sessions (issue 20): stored as hashes, ended by idleness, age, a slow TOTP step, a
/// password change or a disable; promoted to signed in under a new id.
@Suite struct SessionStoreTests {
    let t0 = Timestamp(milliseconds: 1_800_000_000_000)
    let minute: Int64 = 60_000

    func stores(role: AccountRole = .partner) throws -> (AccountStore, SessionStore, Database, Account) {
        let database = try Database(path: temporaryDatabasePath())
        let accounts = AccountStore(database: database, seal: SecretSeal(masterKey: testMasterKey, purpose: SecretSeal.totpSecrets))
        let (_, token) = try accounts.invite(
            email: "desk@example.org", organisation: "fps", role: role, clearance: .public, language: "en", subscriberIDs: [], invitedBy: "t", now: t0)
        let account = try accounts.acceptInvitation(token: token, passwordHash: "h", totpSecret: nil, now: t0)
        return (accounts, SessionStore(database: database, accounts: accounts), database, account)
    }

    func at(_ minutes: Int64) -> Timestamp { t0.adding(milliseconds: minutes * minute) }

    @Test func aSessionIsStoredAsAHashAndAnswersWithItsAccount() throws {
        let (_, sessions, database, account) = try stores()
        let raw = try sessions.create(accountID: account.id, stage: .signedIn, now: t0)
        #expect(Base64.decode(raw.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=")?.count == 32)
        let stored = try database.read { try $0.connection.query("SELECT id_hash FROM console_sessions").map { $0.text(0) ?? "" } }
        #expect(stored == [SHA256.hex(raw)], "only the id's SHA-256 is kept")
        let found = try #require(try sessions.session(raw, now: t0))
        #expect(found.account == account && found.session == ConsoleSession(accountID: account.id, stage: .signedIn, createdAt: t0, lastSeenAt: t0))
        #expect(try sessions.session("unknown", now: t0) == nil)
        #expect(throws: AccountError.unknownAccount("acct_none")) { try sessions.create(accountID: "acct_none", stage: .signedIn, now: t0) }
    }

    @Test func idleSessionsEndAfterThirtyMinutesAndUseTouchesAtMostOnceAMinute() throws {
        let (_, sessions, database, account) = try stores()
        let raw = try sessions.create(accountID: account.id, stage: .signedIn, now: t0)
        func lastSeen() throws -> Int64? { try database.read { try $0.connection.query("SELECT last_seen_at FROM console_sessions").first?.int(0) } }
        #expect(try sessions.session(raw, now: t0.adding(milliseconds: 59_000)) != nil)
        #expect(try lastSeen() == t0.milliseconds, "not touched within the minute")
        #expect(try sessions.session(raw, now: at(20))?.session.lastSeenAt == at(20))
        #expect(try lastSeen() == at(20).milliseconds)
        #expect(try sessions.session(raw, now: at(50)) != nil, "30 minutes idle exactly is still alive")
        #expect(try sessions.session(raw, now: at(80).adding(milliseconds: 1)) == nil, "more than 30 minutes idle")
        #expect(try lastSeen() == nil, "an expired session's row is deleted")
    }

    @Test func sessionsEndTwelveHoursAfterTheyBeganHoweverUsed() throws {
        let (_, sessions, _, account) = try stores()
        let raw = try sessions.create(accountID: account.id, stage: .signedIn, now: t0)
        for minutes in stride(from: Int64(20), through: 720, by: 20) { #expect(try sessions.session(raw, now: at(minutes)) != nil) }
        #expect(try sessions.session(raw, now: at(720).adding(milliseconds: 1)) == nil)
    }

    @Test func awaitingTOTPEndsAfterFiveMinutesAndPromotionGivesANewID() throws {
        let (_, sessions, _, account) = try stores(role: .operator)
        let slow = try sessions.create(accountID: account.id, stage: .awaitingTOTP, now: t0)
        #expect(try sessions.session(slow, now: at(5)) != nil)
        #expect(try sessions.session(slow, now: at(5).adding(milliseconds: 1)) == nil)
        #expect(try sessions.promote(slow, now: at(6)) == nil)

        let raw = try sessions.create(accountID: account.id, stage: .awaitingTOTP, now: t0)
        let promoted = try #require(try sessions.promote(raw, now: at(2)))
        #expect(promoted != raw)
        #expect(try sessions.session(raw, now: at(2)) == nil, "the pre-TOTP id is gone: no session fixation")
        let found = try #require(try sessions.session(promoted, now: at(2)))
        #expect(found.session.stage == .signedIn && found.session.createdAt == t0)
        #expect(try sessions.session(promoted, now: at(30)) != nil, "a signed-in session is not held to the TOTP limit")
        #expect(try sessions.promote(promoted, now: at(31)) == nil, "only an awaiting session is promoted")
    }

    @Test func aPasswordChangeOrADisableEndsOlderSessions() throws {
        let (accounts, sessions, _, account) = try stores()
        let older = try sessions.create(accountID: account.id, stage: .signedIn, now: at(1))
        try accounts.changePassword(accountID: account.id, passwordHash: "new", now: at(2))
        #expect(try sessions.session(older, now: at(3)) == nil)
        let newer = try sessions.create(accountID: account.id, stage: .signedIn, now: at(2))
        #expect(try sessions.session(newer, now: at(3)) != nil)
        #expect(try accounts.disable(accountID: account.id, now: at(4)))
        #expect(try sessions.session(newer, now: at(4)) == nil)
        let afterDisable = try sessions.create(accountID: account.id, stage: .signedIn, now: at(5))
        #expect(try sessions.session(afterDisable, now: at(5)) == nil, "a disabled account has no session, however new")
    }

    @Test func revokeRevokeAllAndPrune() throws {
        let (_, sessions, database, account) = try stores()
        let a = try sessions.create(accountID: account.id, stage: .signedIn, now: t0)
        let b = try sessions.create(accountID: account.id, stage: .signedIn, now: t0)
        try sessions.revoke(a)
        #expect(try sessions.session(a, now: t0) == nil && sessions.session(b, now: t0) != nil)
        try sessions.revokeAll(accountID: account.id)
        #expect(try sessions.session(b, now: t0) == nil)

        _ = try sessions.create(accountID: account.id, stage: .signedIn, now: t0)  // idle by at(31)
        _ = try sessions.create(accountID: account.id, stage: .awaitingTOTP, now: at(20))  // waited too long by at(31)
        let live = try sessions.create(accountID: account.id, stage: .signedIn, now: at(25))
        let waiting = try sessions.create(accountID: account.id, stage: .awaitingTOTP, now: at(29))
        try sessions.prune(now: at(31))
        let left = try database.read { try $0.connection.query("SELECT id_hash FROM console_sessions ORDER BY id_hash").map { $0.text(0) ?? "" } }
        #expect(left == [SHA256.hex(live), SHA256.hex(waiting)].sorted())
    }
}
