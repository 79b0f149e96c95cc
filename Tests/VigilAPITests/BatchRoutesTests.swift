import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilHTTP
import VigilObservability
import VigilStore
import VigilTestSupport
@testable import VigilAPI

/// `POST /v1/alerts/batch` (issue 22), in-process: every alert answered on its own, in
/// order, with the status and body a single filing would have had; valid ones appended,
/// invalid ones not; per-alert idempotency keys; audit lines and rate limits count alerts.
@Suite(.timeLimit(.minutes(1))) struct BatchRoutesTests {
    let routes: AlertRoutesHarness
    var fixture: RoutingFixture { routes.fixture }
    var audit: AuditTrail { routes.audit }

    init(burst: Double = 2000) throws {
        routes = try AlertRoutesHarness(secret: "batch-partner-secret-0123456789", limiter: RateLimiter(rate: 0.001, burst: burst))
    }

    func post(_ body: String, contentType: String = "application/json") -> (status: Int, json: [String: Any]) {
        let response = routes.send("POST", "/v1/alerts/batch", body: Array(body.utf8), headers: ["content-type": contentType])
        return (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:])
    }

    static func alert(_ country: String = "BY", summary: String = "Detained at dawn.", extra: String = "") -> String {
        #"{"country":"\#(country)","threat":"detention","severity":"high","certainty":"observed","summary":"\#(summary)","defender":{"name":"Ales B."}\#(extra)}"#
    }

    @Test func eachAlertIsAnsweredInOrderAndOnlyValidOnesAreAppended() throws {
        let (status, json) = post(#"{"alerts":[\#(Self.alert()),\#(Self.alert("ZZ")),\#(Self.alert("CO", extra: #","idempotency_key":"k-1""#))]}"#)
        #expect(status == 200)
        #expect(json["accepted"] as? Int == 2 && json["refused"] as? Int == 1)
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.map { $0["index"] as? Int } == [0, 1, 2])
        #expect(results.map { $0["status"] as? Int } == [202, 422, 202])
        #expect(results[1]["error"] as? String == "validation_failed")
        #expect((results[1]["fields"] as? [[String: Any]])?.first?["field"] as? String == "country")
        let ids = [results[0], results[2]].compactMap { $0["id"] as? String }
        #expect(ids.count == 2 && Set(ids).count == 2)
        #expect(try fixture.log.lastOffset() == 2)
        let stored = try #require(try fixture.log.alert(id: ids[1]))
        #expect(stored.alert.country.code == "CO" && stored.alert.source.organisation == "partner")
        // The audit trail is written with the next write, in the background: wait for it (at most 5 s).
        var filed = 0
        for _ in 0..<250 {
            filed = try audit.entries(action: .alertFiled, limit: 10).count
            if filed >= 2 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(filed == 2, "one audit line per alert filed")

        // The key is the alert's: sent again, the same answer and nothing appended.
        let again = post(#"{"alerts":[\#(Self.alert("CO", extra: #","idempotency_key":"k-1""#)),\#(Self.alert("PH", extra: #","idempotency_key":"k-1""#))]}"#)
        let repeated = try #require(again.json["results"] as? [[String: Any]])
        #expect(repeated[0]["status"] as? Int == 202 && repeated[0]["id"] as? String == ids[1])
        #expect(repeated[1]["status"] as? Int == 409 && repeated[1]["error"] as? String == "idempotency_conflict")
        #expect(try fixture.log.lastOffset() == 2)
    }

    @Test(arguments: [
        (#"{"alerts":[]}"#, "alerts"), (#"[1,2]"#, "$"), (#"{"alerts":[1]}"#, "alerts[0]"), (#"{"alerts":[{}],"more":1}"#, "more"),
        (#"{"alerts":[{"idempotency_key":7}]}"#, "alerts[0].idempotency_key"),
    ])
    func aMalformedBatchIsRefusedWhole(body: String, field: String) throws {
        let (status, json) = post(body)
        #expect(status == 422)
        #expect((json["fields"] as? [[String: Any]])?.first?["field"] as? String == field, "\(json)")
        #expect(try fixture.log.lastOffset() == 0)
    }

    @Test func aBatchOverTheLimitOrNotJSONIsRefused() throws {
        let many = Array(repeating: Self.alert(), count: AlertFiling.maxBatch + 1).joined(separator: ",")
        #expect(post(#"{"alerts":[\#(many)]}"#).status == 422)
        #expect(post(#"{"alerts":[\#(Self.alert())]}"#, contentType: "text/plain").status == 415)
        #expect(try fixture.log.lastOffset() == 0)
    }

    @Test func everyAlertCountsAgainstTheRateLimit() throws {
        let limited = try BatchRoutesTests(burst: 5)
        let four = Array(repeating: Self.alert(), count: 4).joined(separator: ",")
        #expect(limited.post(#"{"alerts":[\#(four)]}"#).status == 200)
        let refused = limited.post(#"{"alerts":[\#(four)]}"#)
        #expect(refused.status == 429 && refused.json["error"] as? String == "rate_limited", "four more alerts are over a burst of five")
        #expect(try limited.fixture.log.lastOffset() == 4)
    }
}
