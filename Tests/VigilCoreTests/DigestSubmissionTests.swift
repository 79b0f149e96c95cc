import Foundation
import Testing
@testable import VigilCore

/// `subscriptions[i].digest` in a subscriber body (issue 21): what it decodes to, and each
/// mistake reported at its own path.
@Suite struct DigestSubmissionTests {
    /// A desk's body whose first subscription (BY from `low`) has `digest` (JSON text), and a
    /// second one without a digest.
    func body(digest: String, minSeverity: String = "low") -> String {
        """
        {"name": "Belarus desk", "kind": "diplomatic_desk", "organisation": "FPS Foreign Affairs", "contact": "desk@example.org",
         "clearance": "restricted", "language": "fr",
         "channels": [{"type": "webhook", "url": "https://desk.example.org/hooks"}, {"type": "email", "address": "desk@example.org"}],
         "subscriptions": [{"countries": ["BY"], "min_severity": "\(minSeverity)", "digest": \(digest)},
                           {"countries": ["UA"], "min_severity": "critical"}]}
        """
    }

    func validate(_ json: String) throws(ValidationFailure) -> Subscriber {
        var n = 0
        return try SubscriberSubmission(json: Array(json.utf8)).validate(id: "sub_1") {
            n += 1
            return "chn_\(n)"
        }
    }

    /// The paths of the field errors `json` gets; empty when it is accepted.
    func errors(_ json: String) -> [String] {
        do {
            _ = try validate(json)
            return []
        } catch { return error.fields.map(\.field) }
    }

    @Test func aFullDigestDecodesToItsSchedule() throws {
        let subscriber = try validate(body(digest: #"{"below": "high", "every": "P1D", "at": "08:00", "timezone": "Europe/Brussels"}"#))
        #expect(subscriber.subscriptions[0].digest == DigestSchedule(below: .high, every: .days(1), at: TimeOfDay(hour: 8, minute: 0), timezone: "Europe/Brussels"))
        #expect(subscriber.subscriptions[1].digest == nil)
    }

    @Test(arguments: [
        (#"{"below": "medium", "every": "PT1H"}"#, DigestSchedule(below: .medium, every: .seconds(3600), at: TimeOfDay(hour: 0, minute: 0), timezone: "UTC")),
        (#"{"below": "high", "every": "P1W", "at": "23:59"}"#, DigestSchedule(below: .high, every: .days(7), at: TimeOfDay(hour: 23, minute: 59), timezone: "UTC")),
        (#"{"below": "high", "every": "PT10S", "timezone": "Asia/Kolkata"}"#, DigestSchedule(below: .high, every: .seconds(10), timezone: "Asia/Kolkata")),
        (#"{"below": "medium", "every": "PT90M", "at": "06:30", "timezone": "UTC"}"#, DigestSchedule(below: .medium, every: .seconds(5400), at: TimeOfDay(hour: 6, minute: 30))),
    ] as [(String, DigestSchedule)])
    func goodDigestsDecodeWithMidnightUTCAsDefaults(digest: String, expected: DigestSchedule) throws {
        let subscriber = try validate(body(digest: digest))
        #expect(subscriber.subscriptions[0].digest == expected)
        #expect(subscriber.subscriptions[0].digest?.every.iso8601 == expected.every.iso8601)
    }

    @Test(arguments: [
        // below: only medium or high.
        (#"{"below": "critical", "every": "P1D"}"#, "low", ["subscriptions[0].digest.below"]),
        (#"{"below": "low", "every": "P1D"}"#, "low", ["subscriptions[0].digest.below"]),
        (#"{"below": "urgent", "every": "P1D"}"#, "low", ["subscriptions[0].digest.below"]),
        (#"{"below": 3, "every": "P1D"}"#, "low", ["subscriptions[0].digest.below"]),
        (#"{"every": "P1D"}"#, "low", ["subscriptions[0].digest.below"]),
        // every: an ISO 8601 period in range.
        (#"{"below": "high"}"#, "low", ["subscriptions[0].digest.every"]),
        (#"{"below": "high", "every": "PT9S"}"#, "low", ["subscriptions[0].digest.every"]),
        (#"{"below": "high", "every": "P1DT12H"}"#, "low", ["subscriptions[0].digest.every"]),
        (#"{"below": "high", "every": "daily"}"#, "low", ["subscriptions[0].digest.every"]),
        (#"{"below": "high", "every": 86400}"#, "low", ["subscriptions[0].digest.every"]),
        // at: HH:MM.
        (#"{"below": "high", "every": "P1D", "at": "8:00"}"#, "low", ["subscriptions[0].digest.at"]),
        (#"{"below": "high", "every": "P1D", "at": "24:00"}"#, "low", ["subscriptions[0].digest.at"]),
        (#"{"below": "high", "every": "P1D", "at": "08:60"}"#, "low", ["subscriptions[0].digest.at"]),
        // timezone: an IANA name Foundation knows, of bounded length.
        (#"{"below": "high", "every": "P1D", "timezone": "Mars/Base"}"#, "low", ["subscriptions[0].digest.timezone"]),
        (#"{"below": "high", "every": "P1D", "timezone": ""}"#, "low", ["subscriptions[0].digest.timezone"]),
        (#"{"below": "high", "every": "P1D", "timezone": "Europe/Brussels/../../etc/passwd"}"#, "low", ["subscriptions[0].digest.timezone"]),
        (#"{"below": "high", "every": "P1D", "timezone": "Europe/\#(String(repeating: "B", count: 300))"}"#, "low", ["subscriptions[0].digest.timezone"]),
        // No other field; the digest is an object.
        (#"{"below": "high", "every": "P1D", "send_at": "08:00"}"#, "low", ["subscriptions[0].digest.send_at"]),
        (#""P1D""#, "low", ["subscriptions[0].digest"]),
        // below must be above the subscription's min_severity, or the digest gathers nothing.
        (#"{"below": "medium", "every": "P1D"}"#, "medium", ["subscriptions[0].digest.below"]),
        (#"{"below": "high", "every": "P1D"}"#, "high", ["subscriptions[0].digest.below"]),
        (#"{"below": "medium", "every": "P1D"}"#, "critical", ["subscriptions[0].digest.below"]),
        // Every mistake at once.
        (#"{"below": "critical", "every": "P0D", "at": "25:00", "timezone": "Nowhere", "x": 1}"#, "low",
         ["subscriptions[0].digest.x", "subscriptions[0].digest.below", "subscriptions[0].digest.every", "subscriptions[0].digest.at", "subscriptions[0].digest.timezone"]),
    ] as [(String, String, [String])])
    func refusesByPath(digest: String, minSeverity: String, expected: [String]) {
        #expect(errors(body(digest: digest, minSeverity: minSeverity)) == expected)
    }

    @Test func aNullDigestIsNoDigest() throws {
        let subscriber = try validate(body(digest: "null"))
        #expect(subscriber.subscriptions[0].digest == nil)
    }

    @Test func theStoredFormRoundTrips() throws {
        let subscriber = try validate(body(digest: #"{"below": "high", "every": "P2W", "at": "07:45", "timezone": "America/New_York"}"#))
        let stored = try JSONEncoder().encode(subscriber)
        let text = String(decoding: stored, as: UTF8.self)
        #expect(text.contains(#""every":"P14D""#) && text.contains(#""at":"07:45""#))
        let decoded = try JSONDecoder().decode(Subscriber.self, from: stored)
        #expect(decoded == subscriber)
        #expect(decoded.subscriptions[0].digest == DigestSchedule(below: .high, every: .days(14), at: TimeOfDay(hour: 7, minute: 45), timezone: "America/New_York"))
    }

    @Test(arguments: [
        #"{"below": "high", "every": "P32D"}"#, #"{"below": "high", "every": "P1D", "at": "8h"}"#, #"{"below": "noise", "every": "P1D"}"#,
        #"{"below": "critical", "every": "P1D"}"#, #"{"below": "low", "every": "P1D"}"#, #"{"every": "P1D"}"#,
    ])
    func aStoredDigestThatNoLongerReadsIsRefused(digest: String) {
        // A record from elsewhere is checked as it is decoded, not trusted.
        let json = #"{"countries": ["BY"], "min_severity": "low", "digest": \#(digest)}"#
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode(Subscription.self, from: Data(json.utf8)) }
    }
}
