import Foundation
import Testing
import VigilCore
@testable import VigilDelivery

@Suite struct DeliveryVerdictTests {
    @Test(arguments: [
        (200, DeliveryVerdict.delivered), (204, .delivered), (299, .delivered), (410, .gone),
        (400, .permanent(reason: "HTTP 400 (refused) after 12 ms")), (401, .permanent(reason: "HTTP 401 (refused) after 12 ms")),
        (404, .permanent(reason: "HTTP 404 (refused) after 12 ms")), (422, .permanent(reason: "HTTP 422 (refused) after 12 ms")),
        (408, .retry(reason: "HTTP 408 (request timeout) after 12 ms", notBeforeMilliseconds: nil)),
        (429, .retry(reason: "HTTP 429 (too many requests) after 12 ms", notBeforeMilliseconds: nil)),
        (500, .retry(reason: "HTTP 500 (server error) after 12 ms", notBeforeMilliseconds: nil)),
        (503, .retry(reason: "HTTP 503 (server error) after 12 ms", notBeforeMilliseconds: nil)),
        (301, .retry(reason: "HTTP 301 (redirect, not followed) after 12 ms", notBeforeMilliseconds: nil)),
        (99, .permanent(reason: "HTTP 99 (not a valid status) after 12 ms")),
    ])
    func followsTheDesignsRules(status: Int, verdict: DeliveryVerdict) {
        #expect(DeliveryVerdict.of(.success(HTTPOutcome(status: status, retryAfterMilliseconds: nil, latencyMilliseconds: 12))) == verdict)
    }

    @Test func carriesRetryAfterAndTransportFailures() {
        #expect(DeliveryVerdict.of(.success(HTTPOutcome(status: 503, retryAfterMilliseconds: 7000, latencyMilliseconds: 3)))
            == .retry(reason: "HTTP 503 (server error) after 3 ms", notBeforeMilliseconds: 7000))
        #expect(DeliveryVerdict.of(.failure(.timedOut(afterMilliseconds: 15_000))) == .retry(reason: "timeout after 15000 ms", notBeforeMilliseconds: nil))
        #expect(DeliveryVerdict.of(.failure(.failed(.refused, afterMilliseconds: 2))) == .retry(reason: "connection refused after 2 ms", notBeforeMilliseconds: nil))
    }
}

/// Issue 17 §1: `Retry-After` is read in one place, and nothing a receiver writes there can
/// trap the process or push a delivery past the retry cap.
@Suite struct RetryAfterTests {
    /// 2026-11-22T09:14:03Z.
    static let now = Timestamp(milliseconds: 1_795_338_843_000)

    @Test(arguments: [
        ("0", Int64(0)), ("5", 5000), ("  5", 5000), ("5\t", 5000), ("5\r\n", 5000), ("120", 120_000), ("007", 7000),
        ("31536000", 31_536_000_000),
    ])
    func readsDelaySeconds(value: String, milliseconds: Int64) {
        #expect(RetryAfter.milliseconds(value, now: Self.now) == milliseconds)
    }

    /// Negative, fractional, signed, listed, exponent or overflowing values are absent; so is
    /// anything past a year, which killed the process at `9223372036854775807`.
    @Test(arguments: [
        "9223372036854775807", "9223372036854775808", "99999999999999999999999999", "31536001", "-1", "+5", "1e9", "5.5", "5, 6",
        "5 6", "", "   ", "0x10", "５", "soon", "18446744073709551615", String(repeating: "9", count: 100), String(repeating: "0", count: 70) + "5",
    ])
    func refusesAbsurdValues(value: String) {
        #expect(RetryAfter.milliseconds(value, now: Self.now) == nil)
    }

    @Test func readsHTTPDatesInAllThreeForms() {
        // 2026-11-22T09:15:03Z, a minute after `now`.
        #expect(RetryAfter.milliseconds("Sun, 22 Nov 2026 09:15:03 GMT", now: Self.now) == 60_000)
        #expect(RetryAfter.milliseconds("Sunday, 22-Nov-26 09:15:03 GMT", now: Self.now) == 60_000)
        #expect(RetryAfter.milliseconds("Sun Nov 22 09:15:03 2026", now: Self.now) == 60_000)
        #expect(RetryAfter.milliseconds("Sun Dec  6 09:14:03 2026", now: Self.now) == 1_209_600_000, "14 days")
        #expect(RetryAfter.httpDate(Array("Thu, 01 Jan 1970 00:00:00 GMT".utf8)) == 0)
        #expect(RetryAfter.httpDate(Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)) == 784_111_777_000)
    }

    @Test func aDateInThePastAsksForNoWait() {
        #expect(RetryAfter.milliseconds("Sun, 06 Nov 1994 08:49:37 GMT", now: Self.now) == 0)
        #expect(RetryAfter.milliseconds("Thu, 01 Jan 1970 00:00:00 GMT", now: Self.now) == 0)
    }

    @Test(arguments: [
        "Sun, 06 Nov 99999 08:49:37 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Sun, 22 Nov 2027 09:15:03 GMT", "Sun, 31 Feb 2027 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:61:00 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov  6 08:49:37 99999",
        "Sun, 06 Nov 1994 08:49:37 GMT, 5", "Sun, -6 Nov 1994 08:49:37 GMT",
    ])
    func refusesAbsurdOrMalformedDates(value: String) {
        #expect(RetryAfter.milliseconds(value, now: Self.now) == nil)
    }

    /// The retry policy takes at most its cap from a receiver, and nothing from a negative
    /// or huge wait; the next attempt's time never overflows.
    @Test func retryAfterIsClampedToTheCap() {
        var generator = SystemRandomNumberGenerator()
        let policy = RetryPolicy(baseMilliseconds: 100, capMilliseconds: 2000, budgetMilliseconds: 86_400_000)
        for retryAfter in [Int64.max, RetryAfter.longestMilliseconds, 2001, Int64.min, -1] {
            let delay = policy.delay(afterAttempt: 1, retryAfterMilliseconds: retryAfter, using: &generator)
            #expect(delay >= 0 && delay <= 2000, "\(retryAfter) gave \(delay)")
        }
        #expect(policy.delay(afterAttempt: 1, retryAfterMilliseconds: 1500, using: &generator) >= 1500)
        for attempt in [Int.min, -1, 0, 63, 64, Int.max] {
            let delay = policy.delay(afterAttempt: attempt, using: &generator)
            #expect(delay >= 0 && delay <= 2000)
        }
        #expect(!policy.allows(nextAttemptAt: .max, firstAttemptAt: .min))
        #expect(policy.allows(nextAttemptAt: .min, firstAttemptAt: .max))
    }

    @Test func deliveryArithmeticSaturates() {
        #expect(DeliveryArithmetic.sum(.max, 1) == .max && DeliveryArithmetic.sum(.min, -1) == .min && DeliveryArithmetic.sum(1, 2) == 3)
        #expect(DeliveryArithmetic.difference(.max, -1) == .max && DeliveryArithmetic.difference(.min, 1) == .min)
        #expect(DeliveryArithmetic.milliseconds(fromSeconds: 1e300) == .max && DeliveryArithmetic.milliseconds(fromSeconds: -1e300) == .min)
        #expect(DeliveryArithmetic.milliseconds(fromSeconds: .infinity) == .max && DeliveryArithmetic.milliseconds(fromSeconds: .nan) == 0)
        #expect(DeliveryArithmetic.milliseconds(fromSeconds: 9_223_372_036_854_775.807) == .max)
        #expect(DeliveryArithmetic.milliseconds(fromSeconds: 1.0001) == 1001)
        #expect(DeliveryArithmetic.incremented(.max) == .max && DeliveryArithmetic.incremented(1) == 2)
        #expect(DeliveryArithmetic.time(Timestamp(milliseconds: .max - 5), plus: 10).milliseconds == .max)
    }
}

@Suite struct AddressPolicyTests {
    @Test(arguments: [
        "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "::ffff:127.0.0.1",
        "::ffff:10.1.2.3", "ff02::1", "64:ff9b::a00:1",
        // Issue 17 §6: NAT64 (both prefixes, whatever IPv4 they embed), IPv4-mapped and
        // -translated (refused outright), IPv4-compatible, 6to4 of an internal IPv4,
        // site-local, Teredo, discard-only, documentation.
        "64:ff9b::8.8.8.8", "64:ff9b::7f00:1", "64:ff9b:1::1", "64:ff9b:1:ffff::8.8.8.8", "::ffff:8.8.8.8", "::ffff:0:8.8.8.8",
        "::ffff:0:127.0.0.1", "::8.8.8.8", "::127.0.0.1", "::a00:1", "2002:7f00:1::1", "2002:a00:1::", "2002:a9fe:a9fe::1",
        "2002:c0a8:101::1", "2002::", "fec0::1", "fed0::1", "feff:ffff::1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "100::1", "2001:db8::1", "not an address", "",
    ])
    func refusesInternalAddresses(address: String) {
        #expect(AddressPolicy.isInternal(address))
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "2002:808:808::1", "2a00:1450:4001::1", "fe00::1"])
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

    /// Issue 17 §6: the host checked is the host libcurl reads, however the URL spells it;
    /// with private webhooks refused, none of these reaches loopback or the inside.
    @Test(arguments: [
        "https://a@127.0.0.1@desk.example.org/h", "https://2130706433/h", "https://0x7f.1/h", "https://017700000001/h", "https://127.1/h",
        "https://0/h", "https://%31%32%37.0.0.1/h", "https://localhost./h", "https://[fe80::1%25eth0]/h", "https://[::ffff:7f00:1]/h",
        "https://[64:ff9b::7f00:1]/h", "https://[2002:7f00:1::1]/h", "https://[::127.0.0.1]/h", "https://[fec0::1]/h", "https://[::]/h",
        "https://①②⑦.0.0.1/h", "https://desk.example.org:0/h", "https://inside.example.org/h", "https://mixed.example.org/h",
        "https:/\\127.0.0.1/h", "https://[::1]x/h",
    ])
    func refusesEverySpellingOfTheInside(url: String) {
        let answers: [String: [String]] = [
            "desk.example.org": ["93.184.216.34"], "inside.example.org": ["10.0.0.7"], "mixed.example.org": ["93.184.216.34", "127.0.0.1"],
            "localhost.": ["127.0.0.1"],
        ]
        let policy = AddressPolicy(allowPrivate: false, resolutions: HostResolutions(lifetime: 0) { answers[$0] ?? AddressPolicy.resolve($0) })
        guard case .failure = policy.check(url) else {
            Issue.record("\(url) must be refused")
            return
        }
    }

    /// libcurl's reading of the URL, not Foundation's: `\@` ends the userinfo for libcurl, so
    /// the host it connects to, and the one checked, is the name after it.
    @Test func checksTheHostLibcurlReads() throws {
        let looked = LookupCounter()
        let policy = AddressPolicy(allowPrivate: false, resolutions: HostResolutions(lifetime: 0) { host in
            looked.count(host)
            return host == "desk.example.org" ? ["93.184.216.34"] : ["127.0.0.1"]
        })
        let checked = try policy.check("https://127.0.0.1:443\\@desk.example.org/h").get()
        #expect(checked.host == "desk.example.org" && checked.port == 443 && checked.address == "93.184.216.34")
        #expect(looked.calls("127.0.0.1") == 0)
        #expect(AddressPolicy.parts(of: "HTTPS://Desk.Example.org/x")?.scheme == "https")
        #expect(AddressPolicy.parts(of: "http://0x7f.1/")?.host == "127.0.0.1")
        #expect(AddressPolicy.parts(of: "https://[::1]:8443/x").map { "\($0.host) \($0.port)" } == "::1 8443")
        #expect(AddressPolicy.parts(of: "http://[fe80::1%25eth0]:8080/") == nil, "a zone id is refused even where private webhooks are allowed")
        #expect(AddressPolicy.sameAddress("::ffff:127.0.0.1", "::FFFF:7f00:1") && !AddressPolicy.sameAddress("127.0.0.1", "::ffff:127.0.0.1"))
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
