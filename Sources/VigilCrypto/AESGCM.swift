import COpenSSL

/// AES-256-GCM from libcrypto: authenticated encryption for defender identities at rest and
/// for wrapping their data keys under the master key.
///
/// A sealed box is `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`; the nonce is random
/// for every seal. The associated data binds a box to what it belongs to (an alert id), so
/// a box copied onto another record fails to open.
public enum AESGCM {
    /// Key length in bytes.
    public static let keyLength = 32
    /// Nonce length in bytes.
    public static let nonceLength = 12
    /// Authentication tag length in bytes.
    public static let tagLength = 16
    /// AES-256-GCM, fetched once: `EVP_aes_256_gcm()` makes libcrypto look the cipher up by
    /// name, under a lock, on every init. Never changed after it is fetched, and libcrypto
    /// lets threads share a fetched cipher, so sharing it between threads is safe.
    nonisolated(unsafe) private static let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)

    /// Encrypts `plaintext` under `key` (32 bytes), authenticating `associatedData` with it.
    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        guard key.count == keyLength else { throw CryptoError.badKeyLength(key.count) }
        let nonce = SecureRandom.bytes(nonceLength)
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.libcrypto("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: tagLength)
        var written: Int32 = 0
        var total = 0
        guard EVP_EncryptInit_ex(context, cipher, nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceLength), nil) == 1,
            EVP_EncryptInit_ex(context, nil, nil, key, nonce) == 1
        else { throw CryptoError.libcrypto("AES-GCM encrypt init") }
        if !associatedData.isEmpty {
            guard EVP_EncryptUpdate(context, nil, &written, associatedData, Int32(associatedData.count)) == 1 else {
                throw CryptoError.libcrypto("AES-GCM associated data")
            }
        }
        let ok = ciphertext.withUnsafeMutableBufferPointer { out -> Bool in
            guard EVP_EncryptUpdate(context, out.baseAddress, &written, plaintext, Int32(plaintext.count)) == 1 else { return false }
            total = Int(written)
            guard EVP_EncryptFinal_ex(context, out.baseAddress! + total, &written) == 1 else { return false }
            total += Int(written)
            return true
        }
        guard ok, EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagLength), &tag) == 1 else {
            throw CryptoError.libcrypto("AES-GCM encrypt")
        }
        return nonce + ciphertext.prefix(total) + tag
    }

    /// Decrypts a box made by `seal`; throws `CryptoError.authenticationFailed` when the
    /// key, the associated data or any byte of the box is wrong.
    public static func open(_ box: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        guard key.count == keyLength else { throw CryptoError.badKeyLength(key.count) }
        guard box.count >= nonceLength + tagLength else { throw CryptoError.authenticationFailed }
        let nonce = Array(box.prefix(nonceLength))
        let ciphertext = Array(box.dropFirst(nonceLength).dropLast(tagLength))
        var tag = Array(box.suffix(tagLength))
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.libcrypto("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        var total = 0
        guard EVP_DecryptInit_ex(context, cipher, nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceLength), nil) == 1,
            EVP_DecryptInit_ex(context, nil, nil, key, nonce) == 1
        else { throw CryptoError.libcrypto("AES-GCM decrypt init") }
        if !associatedData.isEmpty {
            guard EVP_DecryptUpdate(context, nil, &written, associatedData, Int32(associatedData.count)) == 1 else {
                throw CryptoError.authenticationFailed
            }
        }
        let ok = plaintext.withUnsafeMutableBufferPointer { out -> Bool in
            guard EVP_DecryptUpdate(context, out.baseAddress, &written, ciphertext, Int32(ciphertext.count)) == 1 else { return false }
            total = Int(written)
            guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagLength), &tag) == 1 else { return false }
            guard EVP_DecryptFinal_ex(context, out.baseAddress! + total, &written) == 1 else { return false }
            total += Int(written)
            return true
        }
        guard ok else { throw CryptoError.authenticationFailed }
        return Array(plaintext.prefix(total))
    }
}
