import Foundation
import Testing
import VigilCore
@testable import VigilDelivery

@Suite struct DeliveryVerdictTests {
    @Test(arguments: [
        (200, DeliveryVerdict.delivered), (204, .delivered), (299, .delivered), (410, .gone),
        (400, .permanent(reason: "the receiver refused with 400")), (401, .permanent(reason: "the receiver refused with 401")),
        (404, .permanent(reason: "the receiver refused with 404")), (422, .permanent(reason: "the receiver refused with 422")),
        (408, .retry(reason: "the receiver answered 408", notBeforeMilliseconds: nil)),
        (429, .retry(reason: "the receiver answered 429", notBeforeMilliseconds: nil)),
        (500, .retry(reason: "the receiver answered 500", notBeforeMilliseconds: nil)),
        (503, .retry(reason: "the receiver answered 503", notBeforeMilliseconds: nil)),
        (301, .retry(reason: "the receiver answered 301 (redirects are not followed)", notBeforeMilliseconds: nil)),
    ])
    func followsTheDesignsRules(status: Int, verdict: DeliveryVerdict) {
        #expect(DeliveryVerdict.of(.success(HTTPOutcome(status: status, retryAfterMilliseconds: nil, bodyPrefix: ""))) == verdict)
    }

    @Test func carriesRetryAfterAndTransportFailures() {
        #expect(DeliveryVerdict.of(.success(HTTPOutcome(status: 503, retryAfterMilliseconds: 7000, bodyPrefix: ""))) == .retry(reason: "the receiver answered 503", notBeforeMilliseconds: 7000))
        #expect(DeliveryVerdict.of(.failure(.timedOut)) == .retry(reason: "the receiver did not answer in time", notBeforeMilliseconds: nil))
    }
}

@Suite struct AddressPolicyTests {
    @Test(arguments: [
        "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "::ffff:127.0.0.1",
        "::ffff:10.1.2.3", "ff02::1", "64:ff9b::a00:1",
    ])
    func refusesInternalAddresses(address: String) {
        #expect(AddressPolicy.isInternal(address))
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
    func allowsPublicAddresses(address: String) {
        #expect(!AddressPolicy.isInternal(address))
    }

    @Test(arguments: ["https://127.0.0.1/h", "https://localhost/h", "https://[::1]/h", "https://2130706433/h", "https://0177.0.0.1/h",
                      "https://0x7f.0.0.1/h", "https://[::ffff:127.0.0.1]/h", "https://169.254.169.254/latest/meta-data"])
    func refusesLoopbackHowEverItIsSpelt(url: String) {
        guard case .failure = AddressPolicy(allowPrivate: false).check(url) else {
            Issue.record("\(url) must be refused")
            return
        }
    }

    @Test func requiresHTTPSUnlessAllowedAndPinsTheCheckedAddress() throws {
        #expect(AddressPolicy(allowPrivate: false).check("http://93.184.216.34/h").failureValue == .insecureScheme)
        let pinned = try AddressPolicy(allowPrivate: true).check("http://localhost:8090/h").get()
        #expect(pinned.host == "localhost" && pinned.port == 8090 && ["127.0.0.1", "::1"].contains(pinned.address))
        #expect(AddressPolicy(allowPrivate: false).check("ftp://example.org").failureValue == .badURL("ftp://example.org"))
    }

    /// Sends to one host ask the resolver once while its answer is fresh, never keep a
    /// failure, and still refuse an internal address that came from the cache.
    @Test func keepsResolverAnswersBrieflyAndStillChecksThem() throws {
        let lookups = LookupCounter()
        let answers: [String: [String]] = ["desk.example.org": ["93.184.216.34"], "inside.example.org": ["10.0.0.7"]]
        let resolutions = HostResolutions(lifetime: 60) { host in lookups.count(host); return answers[host] ?? [] }
        let policy = AddressPolicy(allowPrivate: false, resolutions: resolutions)
        for _ in 0..<3 { #expect(try policy.check("https://desk.example.org/hook").get().address == "93.184.216.34") }
        #expect(lookups.calls("desk.example.org") == 1)
        for _ in 0..<2 { #expect(policy.check("https://inside.example.org/hook").failureValue == .internalAddress("10.0.0.7")) }
        #expect(lookups.calls("inside.example.org") == 1)
        for _ in 0..<2 { #expect(policy.check("https://gone.example.org/hook").failureValue == .unresolvable("gone.example.org")) }
        #expect(lookups.calls("gone.example.org") == 2, "a failed lookup is asked again")
        let uncached = AddressPolicy(allowPrivate: false, resolutions: HostResolutions(lifetime: 0) { host in lookups.count(host); return answers[host] ?? [] })
        for _ in 0..<2 { _ = uncached.check("https://desk.example.org/hook") }
        #expect(lookups.calls("desk.example.org") == 3)
    }
}

/// Counts resolver calls per host, from any thread.
final class LookupCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    func count(_ host: String) { lock.withLock { counts[host, default: 0] += 1 } }
    func calls(_ host: String) -> Int { lock.withLock { counts[host] ?? 0 } }
}

extension Result {
    var failureValue: Failure? { if case .failure(let f) = self { f } else { nil } }
}

@Suite struct CircuitBreakerTests {
    @Test func opensAfterTheThresholdThenHalfOpensForOneTrial() {
        let breaker = CircuitBreaker(threshold: 3, cooldown: 10, maxCooldown: 40)
        #expect(!breaker.recordFailure("e", now: 0) && !breaker.recordFailure("e", now: 1))
        #expect(breaker.recordFailure("e", now: 2), "the third failure opens it and says so once")
        #expect(breaker.state(of: "e") == .open && !breaker.allows("e", now: 5) && breaker.blocked(now: 5) == ["e": 12])
        #expect(breaker.allows("e", now: 12), "after the cool-down one trial goes through")
        #expect(breaker.state(of: "e") == .halfOpen && !breaker.allows("e", now: 12))
        #expect(breaker.blocked(now: 12.5) == ["e": 27], "others wait for the trial, at most its window (15 s)")
        #expect(!breaker.recordFailure("e", now: 13), "a failed trial reopens it without a second notice")
        #expect(!breaker.allows("e", now: 30) && breaker.allows("e", now: 34), "the cool-down doubled to 20 s")
        breaker.recordSuccess("e")
        #expect(breaker.state(of: "e") == .closed && breaker.allows("e", now: 35) && breaker.openCount == 0)
        #expect(breaker.allows("other", now: 0))
        // A trial whose answer never comes stops holding the endpoint at the end of its window.
        for t in 0..<3 { breaker.recordFailure("silent", now: Double(t)) }
        #expect(breaker.allows("silent", now: 20) && !breaker.allows("silent", now: 21) && breaker.allows("silent", now: 36))
    }
}

@Suite struct EmailTests {
    func alert(_ changes: (inout Alert) -> Void = { _ in }) -> Alert {
        var alert = Alert(
            id: "01M825CFCJ7PXX86Y361FVVH2B", receivedAt: Timestamp(milliseconds: 1_795_338_843_120), country: CountryCode("BY")!,
            region: "Minsk", threat: .arrest, severity: .critical, certainty: .observed, defender: Defender(name: "Defender <b>X</b>"),
            summary: "Trade union leader arrested at dawn by plain-clothes officers; held incommunicado.", source: AlertSource(organisation: "Partner"))
        changes(&alert)
        return alert
    }

    @Test(arguments: [
        ("en", "[CRITICAL] Belarus — arrest: Trade union leader arrested at dawn by plain-clothes…"),
        ("fr", "[CRITIQUE] Belarus — arrestation: Trade union leader arrested at dawn by plain-clothes…"),
        ("nl-BE", "[KRITIEK] Belarus — arrestatie: Trade union leader arrested at dawn by plain-clothes…"),
        ("es", "[CRITICAL] Belarus — arrest: Trade union leader arrested at dawn by plain-clothes…"),
    ])
    func subjectsSpeakTheSubscribersLanguage(language: String, subject: String) {
        #expect(AlertEmail.message(alert: alert(), to: "d@example.org", language: language, deliveryID: "dlv_1", from: "Vigil <a@vigil.test>").subject == subject)
    }

    @Test func marksDrillsUpdatesAndReplays() {
        let drill = AlertEmail.message(alert: alert { $0.status = .exercise }, to: "d@example.org", language: "en", deliveryID: "dlv_1", from: "a@vigil.test", replay: true)
        #expect(drill.subject.hasPrefix("[EXERCISE] [REPLAY] [CRITICAL]") && drill.text.hasPrefix("EXERCISE"))
        let update = AlertEmail.message(alert: alert { $0.kind = .update }, to: "d@example.org", language: "en", deliveryID: "dlv_1", from: "a@vigil.test")
        #expect(update.subject.hasPrefix("[CRITICAL] UPDATE:"))
    }

    @Test func rendersMultipartWithEncodedSubjectAndEscapedHTML() {
        let message = AlertEmail.message(alert: alert(), to: "d@example.org", language: "fr", deliveryID: "dlv_abc", from: "Vigil <alerts@vigil.test>")
        #expect(message.messageID == "dlv_abc@vigil.test")
        #expect(message.html.contains("Defender &lt;b&gt;X&lt;/b&gt;") && !message.html.contains("<b>X</b>"))
        let wire = String(decoding: message.bytes(boundary: "B"), as: UTF8.self)
        #expect(wire.contains("Content-Type: multipart/alternative; boundary=\"B\"\r\n"))
        #expect(wire.contains("Message-ID: <dlv_abc@vigil.test>\r\n") && wire.contains("--B--"))
        #expect(wire.contains("Subject: =?UTF-8?B?"))
        #expect(wire.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 998 })
    }

    @Test func encodedWordsNeverSplitACharacter() {
        let subject = String(repeating: "逮捕 défenseur·e ", count: 10)
        let encoded = EmailMessage.encodedWords(subject)
        let decoded = encoded.components(separatedBy: "\r\n ").map { word -> String in
            let base64 = word.dropFirst("=?UTF-8?B?".count).dropLast(2)
            return String(decoding: Data(base64Encoded: String(base64))!, as: UTF8.self)
        }.joined()
        #expect(decoded == subject)
    }

    @Test func datesFollowRFC5322() {
        #expect(EmailMessage.rfc5322Date(Timestamp(milliseconds: 1_795_338_843_120)) == "Sun, 22 Nov 2026 09:14:03 +0000")
        #expect(EmailMessage.rfc5322Date(Timestamp(milliseconds: 0)) == "Thu, 1 Jan 1970 00:00:00 +0000")
    }
}
