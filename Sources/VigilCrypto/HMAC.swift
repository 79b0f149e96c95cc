import COpenSSL

/// HMAC from libcrypto: SHA-256 as the Standard Webhooks `v1` signature needs it, SHA-1 as
/// RFC 6238 one-time codes (`TOTP`) need it.
public enum HMAC {
    /// The context every MAC starts from, digest chosen and no key: duplicating it skips
    /// libcrypto's by-name lookups of HMAC and SHA-256, which `HMAC()` repeats under a lock
    /// on every call. Never changed after it is made, so sharing it between threads is safe.
    nonisolated(unsafe) private static let template = vigil_hmac_sha256_template()

    /// The same for HMAC-SHA1, made here rather than in the C shim: the digest's name and
    /// the parameter key only need to live while `EVP_MAC_CTX_set_params` reads them.
    nonisolated(unsafe) private static let sha1Template: OpaquePointer? = {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { return nil }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { return nil }
        var name = Array("digest".utf8CString), digest = Array("SHA1".utf8CString)
        let ok = name.withUnsafeMutableBufferPointer { nameBuffer in
            digest.withUnsafeMutableBufferPointer { digestBuffer in
                var parameters = [
                    OSSL_PARAM_construct_utf8_string(nameBuffer.baseAddress, digestBuffer.baseAddress, 0), OSSL_PARAM_construct_end(),
                ]
                return EVP_MAC_CTX_set_params(context, &parameters) == 1
            }
        }
        guard ok else {
            EVP_MAC_CTX_free(context)
            return nil
        }
        return context
    }()

    /// The 32-byte HMAC-SHA256 of `message` under `key`.
    public static func sha256(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        compute(template, name: "HMAC-SHA256", key: key, message: message)
    }

    /// The 20-byte HMAC-SHA1 of `message` under `key`, for RFC 6238 one-time codes (SHA-1 is
    /// what authenticator apps compute; HMAC-SHA1 remains sound as a MAC).
    public static func sha1(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        compute(sha1Template, name: "HMAC-SHA1", key: key, message: message)
    }

    /// The MAC of `message` under `key`, from a copy of `base` (one of the templates above).
    private static func compute(_ base: OpaquePointer?, name: String, key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length = 0
        let input = Array(message)
        // An empty key still needs a pointer: libcrypto reads a null key as "keep the old one".
        let keyBytes = key.isEmpty ? [0] : key
        guard let context = EVP_MAC_CTX_dup(base) else { fatalError("libcrypto cannot make an \(name) context") }
        defer { EVP_MAC_CTX_free(context) }
        let ok = keyBytes.withUnsafeBufferPointer { keyBuffer in
            input.withUnsafeBufferPointer { inputBuffer in
                output.withUnsafeMutableBufferPointer { outputBuffer in
                    EVP_MAC_init(context, keyBuffer.baseAddress, key.count, nil) == 1
                        && EVP_MAC_update(context, inputBuffer.baseAddress, inputBuffer.count) == 1
                        && EVP_MAC_final(context, outputBuffer.baseAddress, &length, outputBuffer.count) == 1
                }
            }
        }
        guard ok else { fatalError("libcrypto failed to compute an \(name)") }
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
