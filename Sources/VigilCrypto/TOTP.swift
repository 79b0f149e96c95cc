import COpenSSL

/// A time-based one-time password generator (RFC 6238: HMAC-SHA1, 30-second steps, 6
/// digits), the second factor of a console account, as authenticator apps compute it.
public struct TOTP: Sendable, Equatable {
    /// The shared secret: 20 random bytes, as RFC 4226 recommends for HMAC-SHA1.
    public let secret: [UInt8]

    /// The length of a step, in seconds.
    static let period: Int64 = 30
    /// The digits of a code.
    static let digits = 6
    /// The longest secret a base32 text may carry (64 bytes), so outside input cannot make
    /// Vigil keep megabytes; 16 bytes is the least RFC 4226 allows.
    static let secretLengthBounds = 16...64

    /// A generator over `secret`.
    public init(secret: [UInt8]) { self.secret = secret }

    /// A generator with a fresh 20-byte secret from `SecureRandom`, for a new enrolment.
    public static func generate() -> TOTP { TOTP(secret: SecureRandom.bytes(20)) }

    /// The secret in RFC 4648 base32 without padding, as people type it into an app.
    public var base32Secret: String { Base32.encode(secret) }

    /// A generator over a base32 secret; `nil` if it is not base32 or carries fewer than 16
    /// or more than 64 bytes.
    public init?(base32Secret: String) {
        guard base32Secret.utf8.count <= 128, let secret = Base32.decode(base32Secret),
              Self.secretLengthBounds.contains(secret.count)
        else { return nil }
        self.secret = secret
    }

    /// The 6-digit code for the 30-second step holding `unixSeconds`.
    public func code(at unixSeconds: Int64) -> String { code(at: unixSeconds, digits: Self.digits) }

    /// The code with `digits` digits (RFC 6238's vectors have 8) at `unixSeconds`.
    func code(at unixSeconds: Int64, digits: Int) -> String { code(step: Self.step(unixSeconds), digits: digits) }

    /// The step holding `unixSeconds`: floor division, so times before 1970 stay in order.
    static func step(_ unixSeconds: Int64) -> Int64 {
        let (quotient, remainder) = unixSeconds.quotientAndRemainder(dividingBy: period)
        return remainder < 0 ? quotient - 1 : quotient
    }

    /// RFC 4226 HOTP of counter `step`: HMAC-SHA1, dynamic truncation, `digits` decimal digits.
    func code(step: Int64, digits: Int) -> String {
        let counter = UInt64(bitPattern: step)
        let message = (0..<8).map { UInt8(truncatingIfNeeded: counter >> UInt64(56 - 8 * $0)) }
        let mac = HMAC.sha1(key: secret, message: message)
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    /// The step within `window` steps (0 to 10) of `unixSeconds`'s whose code is `code`,
    /// compared in constant time; `nil` if none, and for anything but exactly 6 ASCII digits. Every step
    /// of the window is computed and compared, so timing does not tell which one matched.
    /// Callers keep the last step used per account and refuse one not above it (no replay).
    public func matchingStep(_ code: String, at unixSeconds: Int64, window: Int = 1) -> Int64? {
        let typed = Array(code.utf8)
        guard typed.count == Self.digits, typed.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              (0...10).contains(window)
        else { return nil }
        let now = Self.step(unixSeconds)
        var found: Int64?
        for offset in -Int64(window)...Int64(window) {
            let step = now + offset
            let expected = Array(self.code(step: step, digits: Self.digits).utf8)
            let equal = typed.withUnsafeBytes { a in expected.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
            if equal && found == nil { found = step }
        }
        return found
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code:
    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`,
    /// issuer and account percent-encoded (everything but RFC 3986's unreserved characters).
    public func provisioningURI(issuer: String, account: String) -> String {
        let issuerText = Self.percentEncoded(issuer)
        return "otpauth://totp/\(issuerText):\(Self.percentEncoded(account))?secret=\(base32Secret)&issuer=\(issuerText)"
            + "&algorithm=SHA1&digits=\(Self.digits)&period=\(Self.period)"
    }

    /// `text` with every byte outside `A–Z a–z 0–9 - . _ ~` written as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
