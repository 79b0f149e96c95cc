import COpenSSL

/// HMAC-SHA256 from libcrypto, as the Standard Webhooks `v1` signature needs it.
public enum HMAC {
    /// The 32-byte HMAC-SHA256 of `message` under `key`.
    public static func sha256(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let input = Array(message)
        key.withUnsafeBufferPointer { keyBuffer in
            input.withUnsafeBufferPointer { inputBuffer in
                output.withUnsafeMutableBufferPointer { outputBuffer in
                    _ = COpenSSL.HMAC(
                        EVP_sha256(), keyBuffer.baseAddress, Int32(keyBuffer.count), inputBuffer.baseAddress,
                        inputBuffer.count, outputBuffer.baseAddress, &length)
                }
            }
        }
        return Array(output.prefix(Int(length)))
    }

    /// Whether `mac` is the HMAC-SHA256 of `message` under `key`, compared in constant time
    /// (libcrypto's `CRYPTO_memcmp`), so a forger learns nothing from how long a refusal takes.
    public static func verify(_ mac: [UInt8], key: [UInt8], message: some Collection<UInt8>) -> Bool {
        let expected = sha256(key: key, message: message)
        guard mac.count == expected.count else { return false }
        return mac.withUnsafeBytes { a in expected.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
    }
}
