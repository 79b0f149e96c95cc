import COpenSSL

/// SHA-256 from libcrypto: token hashes, idempotency fingerprints, delivery ids.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let input = Array(bytes)
        input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                _ = COpenSSL.SHA256(inputBuffer.baseAddress, inputBuffer.count, outputBuffer.baseAddress)
            }
        }
        return output
    }

    /// The digest of `text`'s UTF-8 bytes, in lower-case hex.
    public static func hex(_ text: String) -> String { Hex.encode(digest(Array(text.utf8))) }

    /// The digest of `bytes`, in lower-case hex.
    public static func hex(_ bytes: some Collection<UInt8>) -> String { Hex.encode(digest(bytes)) }
}
