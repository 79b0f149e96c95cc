import Foundation
import Synchronization
import Testing
import VigilCore
import VigilObservability
import VigilTestSupport
@testable import VigilStore

/// The ingest path `POST /v1/alerts` and the Kafka router share, against the in-memory log:
/// each outcome (accepted, invalid, refused, unreadable, not stored) and what it counts.
@Suite struct AlertIntakeTests {
    let log = InMemoryAlertLog()
    let metrics = Metrics()
    var intake: AlertIntake { AlertIntake(log: log, fingerprintKey: Array(repeating: 3, count: 32), metrics: metrics) }

    /// Alert JSON for `country`, optionally naming its organisation and the case it updates.
    func body(organisation: String? = nil, updating caseID: String? = nil) -> [UInt8] {
        var fields = [
            #""country":"CO""#, #""threat":"killing""#, #""severity":"critical""#, #""certainty":"observed""#,
            #""summary":"A defender was shot.""#, #""defender":{"name":"Intake Defender"}"#,
        ]
        if let organisation { fields.append(#""source":{"organisation":"\#(organisation)"}"#) }
        if let caseID { fields += [#""kind":"update""#, #""case_id":"\#(caseID)""#] }
        return Array("{\(fields.joined(separator: ","))}".utf8)
    }

    /// Files `body` and returns the outcome (the in-memory log completes on the caller's thread).
    func file(_ body: [UInt8], by filer: AlertIntake.Filer, claim: IdempotencyClaim? = nil) throws -> AlertIntake.Outcome {
        let heard = Mutex<AlertIntake.Outcome?>(nil)
        intake.file(body, by: filer, claim: claim) { outcome in heard.withLock { $0 = outcome } }
        return try #require(heard.withLock { $0 })
    }

    func accepted(_ outcome: AlertIntake.Outcome) throws -> (Alert, AppendReceipt) {
        guard case .accepted(let alert, let receipt) = outcome else { throw OutcomeMismatch(outcome: "\(outcome)") }
        return (alert, receipt)
    }

    struct OutcomeMismatch: Error { let outcome: String }

    @Test func filesForTheTokensOrganisationAndOnceUnderAClaim() throws {
        let claim = intake.claim(organisation: "ngo", key: "k1", body: body())
        let (alert, first) = try accepted(try file(body(), by: .token(organisation: "ngo", isOperator: false), claim: claim))
        #expect(alert.source.organisation == "ngo" && !first.repeated)
        let (_, again) = try accepted(try file(body(), by: .token(organisation: "ngo", isOperator: false), claim: claim))
        #expect(again.repeated && again.id == first.id)
        #expect(log.count == 1)
        #expect(metrics.value("vigil_alerts_received_total", labels: "severity=\"critical\"") == 1)
        // The fingerprint is an HMAC of the body: another body under the same key is a conflict.
        #expect(claim.fingerprint == intake.fingerprint(body()) && claim.fingerprint != intake.fingerprint(body(organisation: "ngo")))
        let other = intake.claim(organisation: "ngo", key: "k1", body: body(organisation: "ngo"))
        guard case .notStored(.idempotencyConflict) = try file(body(organisation: "ngo"), by: .token(organisation: "ngo", isOperator: false), claim: other) else {
            Issue.record("a second body under the same key was not refused")
            return
        }
    }

    @Test func aSubmissionThatDoesNotValidateIsInvalidAndCounted() throws {
        guard case .invalid = try file(Array("not json".utf8), by: .token(organisation: "ngo", isOperator: false)) else {
            Issue.record("not json was not invalid")
            return
        }
        #expect(log.count == 0)
        #expect(metrics.value("vigil_alerts_rejected_total", labels: "reason=\"validation\"") == 1)
    }

    @Test func withoutATokenTheBodyMustNameItsOrganisation() throws {
        guard case .invalid(let failure) = try file(body(), by: .body) else {
            Issue.record("an alert naming no organisation was filed without a token")
            return
        }
        #expect(failure.fields.map(\.field) == ["source.organisation"])
        let (alert, _) = try accepted(try file(body(organisation: "outside-ngo"), by: .body))
        #expect(alert.source.organisation == "outside-ngo")
    }

    @Test func onlyTheFilerOrAnOperatorUpdatesACase() throws {
        let (first, _) = try accepted(try file(body(), by: .token(organisation: "filer", isOperator: false)))
        guard case .refused(_, .notFiler) = try file(body(updating: first.id), by: .token(organisation: "intruder", isOperator: false)) else {
            Issue.record("another organisation updated the case")
            return
        }
        guard case .refused(_, .notFiler) = try file(body(organisation: "intruder", updating: first.id), by: .body) else {
            Issue.record("an outside producer updated another organisation's case")
            return
        }
        _ = try accepted(try file(body(updating: first.id), by: .token(organisation: "intruder", isOperator: true)))
        _ = try accepted(try file(body(organisation: "filer", updating: first.id), by: .body))
        guard case .refused(_, .unknown) = try file(body(updating: ULID().description), by: .token(organisation: "filer", isOperator: true)) else {
            Issue.record("an update of an unknown case was filed")
            return
        }
        #expect(log.count == 3)
    }

    @Test func aLogThatCannotBeReadOrWrittenIsReported() throws {
        let (first, _) = try accepted(try file(body(), by: .token(organisation: "filer", isOperator: false)))
        log.failReads(with: .unavailable("disk"))
        guard case .unreadable = try file(body(updating: first.id), by: .token(organisation: "filer", isOperator: false)) else {
            Issue.record("an unreadable log did not stop the case check")
            return
        }
        log.failReads(with: nil)
        log.failAppends(with: .unavailable("disk"))
        guard case .notStored(.unavailable) = try file(body(), by: .token(organisation: "filer", isOperator: false)) else {
            Issue.record("a failed append was not reported")
            return
        }
        #expect(log.count == 1)
    }
}
