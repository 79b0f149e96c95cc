// libFuzzer target: a receiver's `Retry-After`, the retry schedule it feeds, and header
// fields (issue 17 §2). Built only with VIGIL_FUZZ=1; see deploy/fuzz.sh.
#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import VigilCore
@testable import VigilDelivery
import VigilHTTP

/// A little-endian integer from the front of `bytes`, which it consumes; 0 once they run out.
private func take<T: FixedWidthInteger>(_ type: T.Type, from bytes: inout ArraySlice<UInt8>) -> T {
    var value: T = 0
    for i in 0..<(T.bitWidth / 8) {
        guard let byte = bytes.popFirst() else { break }
        value |= T(truncatingIfNeeded: byte) << (8 * i)
    }
    return value
}


private let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

/// `milliseconds` (whole seconds) as an IMF-fixdate, built from `Timestamp`'s own calendar
/// arithmetic, so the two calendars check each other; `nil` outside years 0000-9999.
private func imfFixdate(_ milliseconds: Int64) -> [UInt8]? {
    let text = Timestamp(milliseconds: milliseconds).description  // 2026-11-22T09:14:03.120Z
    let b = Array(text.utf8)
    guard b.count == 24, b[4] == UInt8(ascii: "-"), let month = Int(String(decoding: b[5..<7], as: UTF8.self)) else { return nil }
    let year = String(decoding: b[0..<4], as: UTF8.self), day = String(decoding: b[8..<10], as: UTF8.self)
    let clock = String(decoding: b[11..<19], as: UTF8.self)
    return Array("Mon, \(day) \(monthNames[month - 1]) \(year) \(clock) GMT".utf8)
}

/// Input: now (8 bytes), attempts (8), status (2), latency (8), first attempt (8), then the
/// `Retry-After` value up to the first LF, then header lines `name: value`.
private func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = Array(UnsafeBufferPointer(start: data, count: size))[...]
    let now = Timestamp(milliseconds: take(Int64.self, from: &input))
    let attempts = Int(take(Int64.self, from: &input))
    let status = Int(take(UInt16.self, from: &input) % 1000)
    let latency = take(Int64.self, from: &input)
    let firstAttempt = take(Int64.self, from: &input)
    let lineEnd = input.firstIndex(of: 10) ?? input.endIndex
    let value = input[..<lineEnd]
    let rest = input[lineEnd...].dropFirst()

    // Retry-After: absent, or a wait between none and a year.
    let wait = RetryAfter.milliseconds(value, now: now)
    if let wait { check((0...RetryAfter.longestMilliseconds).contains(wait), "Retry-After gave \(wait) ms") }
    var trimmed = Array(value)
    while let last = trimmed.last, last == 0x20 || last == 0x09 || last == 0x0D { trimmed.removeLast() }
    while let first = trimmed.first, first == 0x20 || first == 0x09 { trimmed.removeFirst() }
    // Values longer than 64 bytes are refused whole (the longest valid form is 29 bytes).
    if value.count <= 64, !trimmed.isEmpty, trimmed.count <= 18, trimmed.allSatisfy({ (0x30...0x39).contains($0) }), let seconds = Int64(String(decoding: trimmed, as: UTF8.self)) {
        let expected: Int64? = seconds <= RetryAfter.longestMilliseconds / 1000 ? seconds * 1000 : nil
        check(wait == expected, "delay-seconds \(seconds) gave \(String(describing: wait))")
    }
    // An HTTP date must agree with Timestamp's calendar: written again as an IMF-fixdate
    // from its instant, it reads back as the same instant.
    if let date = RetryAfter.httpDate(trimmed), let again = imfFixdate(date) {
        check(RetryAfter.httpDate(again) == date, "\(String(decoding: trimmed, as: UTF8.self)) is \(date) but \(String(decoding: again, as: UTF8.self)) is \(String(describing: RetryAfter.httpDate(again)))")
    }

    // The schedule: whatever the receiver and the record say, a delay within the cap, and
    // times that saturate instead of trapping.
    let outcome = HTTPOutcome(status: status, retryAfterMilliseconds: wait, latencyMilliseconds: latency)
    let verdict = DeliveryVerdict.of(.success(outcome))
    let notBefore: Int64?
    if case .retry(_, let ms) = verdict { notBefore = ms } else { notBefore = nil }
    var generator = SeededGenerator(seed: UInt64(truncatingIfNeeded: now.milliseconds) ^ UInt64(size))  // seeded from the input: a crash reproduces from it alone
    let fuzzedPolicy = RetryPolicy(baseMilliseconds: latency, capMilliseconds: firstAttempt, budgetMilliseconds: now.milliseconds)
    for policy in [RetryPolicy.standard, RetryPolicy.critical, fuzzedPolicy] {
        for retryAfter in [notBefore, latency] {
            let delay = policy.delay(afterAttempt: attempts, retryAfterMilliseconds: retryAfter, using: &generator)
            check(delay >= 0 && delay <= max(policy.capMilliseconds, 0), "delay \(delay) outside 0...\(policy.capMilliseconds)")
            let next = DeliveryArithmetic.time(now, plus: delay)
            _ = policy.allows(nextAttemptAt: next.milliseconds, firstAttemptAt: firstAttempt)
        }
    }
    _ = DeliveryVerdict.of(.failure(.timedOut(afterMilliseconds: latency))).self

    // Header fields: every lookup must agree with a plain scan of what was added.
    var headers = HTTPHeaders()
    var added: [(String, String)] = []
    for line in rest.split(separator: 10, omittingEmptySubsequences: true) {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        guard let colon = text.firstIndex(of: ":") else { continue }
        let name = String(text[..<colon])
        let value = String(text[text.index(after: colon)...])
        headers.add(name, value)
        added.append((name, value))
    }
    // The first 16 names are checked, which keeps the quadratic check fast on long inputs.
    for (name, _) in added.prefix(16) {
        let expected = added.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        check(headers.values(name) == expected, "values(\(name.debugDescription)) disagrees with the fields added")
        check(headers[name] == expected.first, "subscript \(name.debugDescription) is not the first value")
    }
    check(Array(headers).count == added.count)
    if let (name, value) = added.last {
        var changed = headers
        // Upper case only for ASCII names (as HTTP's tokens are): Unicode case mapping does
        // not round-trip ("ϐ" upper-cases to "Β", which lower-cases to "β").
        changed.set(name.allSatisfy(\.isASCII) ? name.uppercased() : name, value + "!")
        check(changed.values(name) == [value + "!"], "set left other values of \(name.debugDescription)")
        changed.remove(name)
        check(changed[name] == nil && changed.values(name).isEmpty, "remove left \(name.debugDescription)")
    }
    return 0
}

runFuzzer { data, size in
    guard let data else { return 0 }
    return fuzzOne(data, size)
}
