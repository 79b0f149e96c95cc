/// A seeded generator and byte mutator for the randomized (fuzz) tests: the same seed
/// gives the same inputs, so a failure prints the seed that reproduces it.
public struct Mutator: RandomNumberGenerator {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Bytes that tend to matter to parsers.
    static let interesting: [UInt8] = Array("\r\n:\" {}[],\\-+.0123456789eE/%?=&\t".utf8) + [0, 0x7F, 0x80, 0xC0, 0xE2, 0xFF]

    /// `input` changed by one to four random edits: flip, insert, delete, duplicate,
    /// splice from `corpus`, truncate, or a number made huge.
    public mutating func mutate(_ input: [UInt8], corpus: [[UInt8]]) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &self) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &self)
            switch Int.random(in: 0..<8, using: &self) {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &self))
            case 1: bytes.insert(Self.interesting.randomElement(using: &self)!, at: position)
            case 2 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...16, using: &self)))
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...32, using: &self))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            case 4:
                let other = corpus.randomElement(using: &self)!
                let cut = Int.random(in: 0...other.count, using: &self)
                bytes = Array(bytes.prefix(position)) + other.suffix(from: cut)
            case 5 where !bytes.isEmpty: bytes = Array(bytes.prefix(position))
            case 6: bytes.insert(contentsOf: Array(["99999999999999999999", "-1", "1e999", "0x10", "\u{0}"].randomElement(using: &self)!.utf8), at: position)
            default: bytes.insert(UInt8.random(in: 0...255, using: &self), at: position)
            }
        }
        return bytes
    }

    /// Iterations for a fuzz test: `VIGIL_FUZZ_ITERATIONS`, or `default`.
    public static func iterations(default count: Int) -> Int {
        guard let text = getenv("VIGIL_FUZZ_ITERATIONS").map({ String(cString: $0) }), let value = Int(text), value > 0 else { return count }
        return value
    }
}

#if canImport(Glibc)
import Glibc
#endif
