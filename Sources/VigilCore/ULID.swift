/// A Universally Unique Lexicographically Sortable Identifier: 48 bits of milliseconds and
/// 80 random bits, written as 26 Crockford base-32 characters.
///
/// Alert ids sort by the time the server received them, so ids alone order a listing.
public struct ULID: Hashable, Sendable, CustomStringConvertible {
    /// The 26-character canonical text.
    public let description: String

    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A new ULID at `time`, with randomness from the system's secure generator.
    public init(time: Timestamp = .now()) {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64, low = generator.next() as UInt64  // two draws, not ten
        var random = [UInt8](repeating: 0, count: 10)
        for i in 0..<8 { random[i] = UInt8(truncatingIfNeeded: high >> (8 * UInt64(i))) }
        random[8] = UInt8(truncatingIfNeeded: low)
        random[9] = UInt8(truncatingIfNeeded: low >> 8)
        self.init(time: time, randomness: random)
    }

    /// A ULID from explicit parts; `randomness` must be 10 bytes.
    public init(time: Timestamp, randomness: [UInt8]) {
        precondition(randomness.count == 10, "a ULID carries exactly 80 random bits")
        var bytes = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(max(0, time.milliseconds)) & 0xFFFF_FFFF_FFFF
        for i in 0..<6 { bytes[i] = UInt8((ms >> (8 * UInt64(5 - i))) & 0xFF) }
        for i in 0..<10 { bytes[6 + i] = randomness[i] }
        // 128 bits in 26 characters: the first carries the top 3 bits, then 5 bits each.
        var out = [UInt8](repeating: 0, count: 26)
        var hi = UInt64(0), lo = UInt64(0)
        for i in 0..<8 { hi = hi << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(bytes[i]) }
        for i in (0..<26).reversed() {
            out[i] = ULID.alphabet[Int(lo & 0x1F)]
            lo = (lo >> 5) | ((hi & 0x1F) << 59)
            hi >>= 5
        }
        description = String(decoding: out, as: UTF8.self)
    }

    /// Accepts a canonical ULID (case-insensitive); `nil` for anything else.
    public init?(_ text: String) {
        let upper = text.uppercased()
        guard upper.utf8.count == 26, upper.utf8.allSatisfy({ ULID.alphabet.contains($0) }),
            let first = upper.utf8.first, first <= UInt8(ascii: "7")
        else { return nil }
        description = upper
    }

    /// The millisecond time encoded in the first ten characters.
    public var time: Timestamp {
        var ms: UInt64 = 0
        for c in description.utf8.prefix(10) {
            ms = ms << 5 | UInt64(ULID.alphabet.firstIndex(of: c) ?? 0)
        }
        return Timestamp(milliseconds: Int64(ms))
    }
}
