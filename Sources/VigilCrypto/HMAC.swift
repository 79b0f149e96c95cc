import COpenSSL

/// HMAC-SHA256 from libcrypto, as the Standard Webhooks `v1` signature needs it.
public enum HMAC {
    /// The context every MAC starts from, digest chosen and no key: duplicating it skips
    /// libcrypto's by-name lookups of HMAC and SHA-256, which `HMAC()` repeats under a lock
    /// on every call. Never changed after it is made, so sharing it between threads is safe.
    nonisolated(unsafe) private static let template = vigil_hmac_sha256_template()

    /// The 32-byte HMAC-SHA256 of `message` under `key`.
    public static func sha256(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length = 0
        let input = Array(message)
        guard let context = EVP_MAC_CTX_dup(template) else { fatalError("libcrypto cannot make an HMAC-SHA256 context") }
        defer { EVP_MAC_CTX_free(context) }
        let ok = key.withUnsafeBufferPointer { keyBuffer in
            input.withUnsafeBufferPointer { inputBuffer in
                output.withUnsafeMutableBufferPointer { outputBuffer in
                    EVP_MAC_init(context, keyBuffer.baseAddress, keyBuffer.count, nil) == 1
                        && EVP_MAC_update(context, inputBuffer.baseAddress, inputBuffer.count) == 1
                        && EVP_MAC_final(context, outputBuffer.baseAddress, &length, outputBuffer.count) == 1
                }
            }
        }
        guard ok else { fatalError("libcrypto failed to compute an HMAC-SHA256") }
        return Array(output.prefix(length))
    }

    /// Whether `mac` is the HMAC-SHA256 of `message` under `key`, compared in constant time
    /// (libcrypto's `CRYPTO_memcmp`), so a forger learns nothing from how long a refusal takes.
    public static func verify(_ mac: [UInt8], key: [UInt8], message: some Collection<UInt8>) -> Bool {
        let expected = sha256(key: key, message: message)
        guard mac.count == expected.count else { return false }
        return mac.withUnsafeBytes { a in expected.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
    }
}
