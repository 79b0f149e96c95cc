import COpenSSL

/// Cryptographically secure random bytes from libcrypto's DRBG, for tokens, webhook secrets
/// and data keys.
public enum SecureRandom {
    /// `count` random bytes. Traps if the generator cannot be seeded, since handing out a
    /// guessable secret is worse than stopping.
    public static func bytes(_ count: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        let status = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(status == 1, "libcrypto's random generator failed; refusing to continue without secure randomness")
        return output
    }

    /// A URL-safe token of `byteCount` random bytes with a readable prefix, for example
    /// `vgl_…`.
    public static func token(prefix: String, byteCount: Int = 32) -> String {
        prefix + Base64.encode(bytes(byteCount), urlSafe: true)
    }
}
