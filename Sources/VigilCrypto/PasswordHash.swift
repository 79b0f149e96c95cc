import COpenSSL

/// A console password stored as an scrypt hash (RFC 7914, computed by libcrypto's
/// `EVP_PBE_scrypt`), with its parameters and salt, so that a stolen database costs an
/// attacker 128 MiB and a noticeable fraction of a second per guess.
///
/// The stored form is `scrypt$ln=17,r=8,p=1$<salt base64>$<hash base64>`; `init(encoded:)`
/// accepts exactly what `encoded` writes and nothing else.
public struct PasswordHash: Sendable, Equatable {
    /// scrypt's cost parameters: N = 2^logN, block size r, parallelism p.
    public struct Parameters: Sendable, Equatable {
        /// The base-2 logarithm of N, the CPU and memory cost.
        public let logN: Int
        /// The block size; memory is 128 · r · N bytes.
        public let r: Int
        /// The parallelism; time grows with it, memory barely.
        public let p: Int

        /// OWASP's password storage cheat sheet minimum: N = 2^17, r = 8, p = 1 (128 MiB).
        public static let standard = Parameters(logN: 17, r: 8, p: 1)
        /// N = 2^10, r = 8, p = 1 (1 MiB): only for tests, where `.standard` would be too slow.
        public static let fast = Parameters(logN: 10, r: 8, p: 1)

        /// Unchecked: the decoding bounds (`PasswordHash.bounds`) apply to stored hashes;
        /// the RFC 7914 vectors need p = 16.
        init(logN: Int, r: Int, p: Int) {
            self.logN = logN
            self.r = r
            self.p = p
        }

        /// Whether these are within the bounds a stored hash may use.
        var isWithinBounds: Bool {
            PasswordHash.logNBounds.contains(logN) && PasswordHash.rBounds.contains(r) && PasswordHash.pBounds.contains(p)
        }

        /// What libcrypto needs to hold for these parameters (B: 128·r·p bytes, V and X:
        /// 128·r·(N+2) bytes), plus 1 MiB of slack; libcrypto refuses to go above it.
        var memoryLimit: UInt64 {
            let n = UInt64(1) << UInt64(logN)
            return 128 * UInt64(r) * (n + 2) + 128 * UInt64(r) * UInt64(p) + 1 << 20
        }
    }

    /// The bounds on a stored hash's parameters and lengths: a hash outside them is refused
    /// rather than computed, so a damaged row cannot ask for gigabytes or hours.
    static let logNBounds = 10...20
    static let rBounds = 1...16
    static let pBounds = 1...4
    static let saltLengthBounds = 16...64
    /// The length of a derived hash, in bytes.
    static let hashLength = 32
    /// The length of a fresh salt, in bytes.
    static let saltLength = 16
    /// The longest password hashed, in UTF-8 bytes; the console refuses anything above 1024
    /// earlier, this keeps a caller that forgets from hashing megabytes.
    public static let maximumPasswordBytes = 4096

    /// The parameters this hash was made with, and is verified with.
    public let parameters: Parameters
    /// The random salt.
    let salt: [UInt8]
    /// The 32-byte scrypt output.
    let hash: [UInt8]

    private init(parameters: Parameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    /// Hashes `password` with a fresh 16-byte random salt. Throws if the password is longer
    /// than `maximumPasswordBytes`, or if libcrypto cannot compute scrypt (for example out of
    /// memory).
    public static func make(password: String, parameters: Parameters = .standard) throws -> PasswordHash {
        let bytes = Array(password.utf8)
        guard bytes.count <= maximumPasswordBytes else {
            throw PasswordHashError.passwordTooLong(bytes: bytes.count, max: maximumPasswordBytes)
        }
        guard parameters.isWithinBounds else { throw PasswordHashError.parametersOutOfBounds }
        let salt = SecureRandom.bytes(saltLength)
        let hash = try derive(password: bytes, salt: salt, parameters: parameters, length: hashLength)
        return PasswordHash(parameters: parameters, salt: salt, hash: hash)
    }

    /// Reads a stored hash; `nil` for anything `encoded` would not have written, and for
    /// parameters or lengths out of bounds (logN 10...20, r 1...16, p 1...4, salt 16...64
    /// bytes, hash 32 bytes).
    public init?(encoded: String) {
        guard encoded.utf8.count <= 256 else { return nil }
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 4, fields[0] == "scrypt" else { return nil }
        let settings = fields[1].split(separator: ",", omittingEmptySubsequences: false)
        guard settings.count == 3,
              let logN = Self.number(settings[0], named: "ln"),
              let r = Self.number(settings[1], named: "r"),
              let p = Self.number(settings[2], named: "p")
        else { return nil }
        let parameters = Parameters(logN: logN, r: r, p: p)
        guard parameters.isWithinBounds,
              let salt = Base64.decode(String(fields[2])), Self.saltLengthBounds.contains(salt.count),
              let hash = Base64.decode(String(fields[3])), hash.count == Self.hashLength
        else { return nil }
        self.init(parameters: parameters, salt: salt, hash: hash)
        // Only the canonical spelling: no leading zeros or signs, no odd base64 padding.
        guard self.encoded == encoded else { return nil }
    }

    /// `name=digits`, at most two digits; `nil` otherwise.
    private static func number(_ setting: Substring, named name: String) -> Int? {
        let parts = setting.split(separator: "=", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == name, (1...2).contains(parts[1].utf8.count),
              parts[1].utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return Int(parts[1])
    }

    /// The stored form: `scrypt$ln=17,r=8,p=1$<salt base64>$<hash base64>`.
    public var encoded: String {
        "scrypt$ln=\(parameters.logN),r=\(parameters.r),p=\(parameters.p)$\(Base64.encode(salt))$\(Base64.encode(hash))"
    }

    /// Whether `password` is the one this hash was made from: scrypt recomputed with this
    /// hash's own parameters and salt, compared in constant time. `false` for a password over
    /// `maximumPasswordBytes` (without hashing it) and if libcrypto fails.
    public func verify(_ password: String) -> Bool {
        let bytes = Array(password.utf8)
        guard bytes.count <= Self.maximumPasswordBytes,
              let candidate = try? Self.derive(password: bytes, salt: salt, parameters: parameters, length: hash.count),
              candidate.count == hash.count
        else { return false }
        return candidate.withUnsafeBytes { a in hash.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
    }

    /// A fixed valid hash with standard parameters, of a random password nobody knows: the
    /// console verifies against it when an email is unknown, so the time a refusal takes does
    /// not tell which emails have accounts.
    public static let decoy = PasswordHash(
        encoded: "scrypt$ln=17,r=8,p=1$wmIjwa3f/r74XAE/+WXq7A==$KBiR7aortsOcBhA4aYu/4Z4SXXZ/oHof1Hd2dIOx/Kg="
    )!

    /// scrypt of `password` and `salt` with `parameters`, `length` bytes long, by libcrypto.
    /// Unchecked parameters, for the RFC 7914 vectors; `make` and `init(encoded:)` bound them.
    static func derive(password: [UInt8], salt: [UInt8], parameters: Parameters, length: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        // An empty array may have no storage; libcrypto wants a pointer even for zero bytes.
        let passwordBytes = password.isEmpty ? [0] : password
        let saltBytes = salt.isEmpty ? [0] : salt
        let status = passwordBytes.withUnsafeBufferPointer { passwordBuffer in
            saltBytes.withUnsafeBufferPointer { saltBuffer in
                output.withUnsafeMutableBufferPointer { outputBuffer in
                    passwordBuffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: passwordBuffer.count) { passwordPointer in
                        EVP_PBE_scrypt(
                            passwordPointer, password.count, saltBuffer.baseAddress, salt.count,
                            UInt64(1) << UInt64(parameters.logN), UInt64(parameters.r), UInt64(parameters.p),
                            parameters.memoryLimit, outputBuffer.baseAddress, outputBuffer.count)
                    }
                }
            }
        }
        guard status == 1 else {
            ERR_clear_error()
            throw PasswordHashError.libcrypto
        }
        return output
    }
}

/// Why a password could not be hashed.
public enum PasswordHashError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The password is longer than `PasswordHash.maximumPasswordBytes`; choose a shorter one.
    case passwordTooLong(bytes: Int, max: Int)
    /// The parameters are outside the bounds a stored hash may use.
    case parametersOutOfBounds
    /// libcrypto refused to compute scrypt, most likely for lack of memory (128 MiB per hash).
    case libcrypto

    public var description: String {
        switch self {
        case .passwordTooLong(let bytes, let max): "the password is \(bytes) bytes long; at most \(max) are accepted"
        case .parametersOutOfBounds: "scrypt parameters must be logN 10...20, r 1...16, p 1...4"
        case .libcrypto: "libcrypto could not compute scrypt (is 128 MiB of memory available?)"
        }
    }
}
