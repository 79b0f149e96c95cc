import COpenSSL

/// SHA-256 from libcrypto: token hashes, idempotency fingerprints, delivery ids.
public enum SHA256 {
    /// SHA-256, fetched once: `SHA256()` looks it up by name, under a lock, on every call.
    /// Never changed after it is fetched, and libcrypto lets threads share a fetched
    /// digest, so sharing it between threads is safe.
    nonisolated(unsafe) private static let algorithm = EVP_MD_fetch(nil, "SHA256", nil)

    /// The 32-byte digest of `bytes`.
    public static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let input = Array(bytes)
        let ok = input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                EVP_Digest(inputBuffer.baseAddress, inputBuffer.count, outputBuffer.baseAddress, nil, algorithm, nil) == 1
            }
        }
        guard ok else { fatalError("libcrypto failed to compute a SHA-256 digest") }
        return output
    }

    /// The digest of `text`'s UTF-8 bytes, in lower-case hex.
    public static func hex(_ text: String) -> String { Hex.encode(digest(Array(text.utf8))) }

    /// The digest of `bytes`, in lower-case hex.
    public static func hex(_ bytes: some Collection<UInt8>) -> String { Hex.encode(digest(bytes)) }
}
