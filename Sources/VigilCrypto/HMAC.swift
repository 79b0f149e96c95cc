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
}
