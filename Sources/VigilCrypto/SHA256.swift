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

    /// A digest fed piece by piece, for input too large to hold at once (a backup's files).
    /// One owner at a time; not for sharing between threads.
    public final class Hasher {
        private let context: OpaquePointer?
        private var finished = false

        /// A fresh SHA-256 computation.
        public init() {
            context = EVP_MD_CTX_new()
            guard let context, EVP_DigestInit_ex(context, algorithm, nil) == 1 else {
                fatalError("libcrypto failed to start a SHA-256 digest")
            }
        }

        deinit { EVP_MD_CTX_free(context) }

        /// Adds `bytes` to the input.
        public func update(_ bytes: [UInt8]) {
            precondition(!finished, "SHA256.Hasher fed after finalize()")
            let ok = bytes.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) == 1 }
            guard ok else { fatalError("libcrypto failed to compute a SHA-256 digest") }
        }

        /// The 32-byte digest of everything added; the hasher takes no more input after.
        public func finalize() -> [UInt8] {
            precondition(!finished, "SHA256.Hasher finalized twice")
            finished = true
            var output = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
            let ok = output.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, nil) == 1 }
            guard ok else { fatalError("libcrypto failed to compute a SHA-256 digest") }
            return output
        }
    }
}
