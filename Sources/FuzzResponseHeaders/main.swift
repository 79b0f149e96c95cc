// libFuzzer target: header fields and what a receiver's answer does to a delivery's retry
// schedule (issue 17 §2). Built only with VIGIL_FUZZ=1; see deploy/fuzz.sh.
//
// Today `Retry-After` is read in `CurlTransfer.header`, a private callback that only libcurl
// calls, so this target cannot reach that text parsing itself; it fuzzes what surrounds it:
// `HTTPHeaders` (the field store both the server and the clients use), and the verdict and
// backoff a receiver's status and `Retry-After` milliseconds lead to.
#if canImport(Glibc)
import Glibc
#endif
import VigilDelivery
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

/// SplitMix64, seeded from the input, so a crash reproduces from its input alone.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Input: status (2 bytes), `Retry-After` in ms (1 flag byte, 8 bytes), attempts (4 bytes),
/// then a header block, `name: value` per line, as a receiver (or a client) sends it.
private func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = Array(UnsafeBufferPointer(start: data, count: size))[...]
    let status = Int(take(UInt16.self, from: &input) % 1000)
    let hasRetryAfter = take(UInt8.self, from: &input) & 1 == 1
    let retryAfter = take(Int64.self, from: &input)
    let attempts = Int(take(Int32.self, from: &input))

    // Header fields: add all, then every lookup must agree with a plain scan.
    var headers = HTTPHeaders()
    var added: [(String, String)] = []
    for line in input.split(separator: 10, omittingEmptySubsequences: true) {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        guard let colon = text.firstIndex(of: ":") else { continue }
        let name = String(text[..<colon])
        let value = String(text[text.index(after: colon)...]).trimmingCharacters(in: [" ", "\t"])
        headers.add(name, value)
        added.append((name, value))
    }
    // The first 16 names are checked, which keeps the quadratic check fast on long inputs.
    for (name, _) in added.prefix(16) {
        let expected = added.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        precondition(headers.values(name) == expected, "values(\(name.debugDescription)) disagrees with the fields added")
        precondition(headers[name] == expected.first, "subscript \(name.debugDescription) is not the first value")
    }
    precondition(Array(headers).count == added.count)
    if let (name, value) = added.last {
        var changed = headers
        changed.set(name.uppercased(), value + "!")
        precondition(changed.values(name) == [value + "!"], "set left other values of \(name.debugDescription)")
        changed.remove(name)
        precondition(changed[name] == nil && changed.values(name).isEmpty, "remove left \(name.debugDescription)")
    }

    // The receiver's answer: a verdict, and the backoff before the next attempt.
    let outcome = HTTPOutcome(status: status, retryAfterMilliseconds: hasRetryAfter ? retryAfter : nil, bodyPrefix: headers["x-body"] ?? "")
    let verdict = DeliveryVerdict.of(.success(outcome))
    var generator = SeededGenerator(state: UInt64(truncatingIfNeeded: retryAfter) ^ UInt64(size))
    for policy in [RetryPolicy.standard, RetryPolicy.critical] {
        let notBefore: Int64?
        if case .retry(_, let ms) = verdict { notBefore = ms } else { notBefore = nil }
        let delay = policy.delay(afterAttempt: attempts, retryAfterMilliseconds: notBefore, using: &generator)
        precondition(delay >= 0, "a negative delay \(delay)")
        if notBefore == nil || notBefore! <= 0 {
            precondition(delay <= policy.capMilliseconds, "delay \(delay) above the cap \(policy.capMilliseconds)")
        }
    }
    return 0
}

/// libFuzzer's entry point, when `main` is ours (SwiftPM links executables with their own).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

var argumentCount = CommandLine.argc
var argumentValues = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues) { data, size in
    guard let data else { return 0 }
    return fuzzOne(data, size)
})
