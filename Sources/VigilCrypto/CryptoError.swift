/// Why a libcrypto operation failed.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// A key of the wrong length was given; AES-256 needs 32 bytes.
    case badKeyLength(Int)
    /// The box was not sealed with this key and associated data, or was altered.
    case authenticationFailed
    /// libcrypto refused an operation that should not fail.
    case libcrypto(String)

    public var description: String {
        switch self {
        case .badKeyLength(let count): "an AES-256 key must be 32 bytes, got \(count)"
        case .authenticationFailed: "the sealed data does not open with this key (wrong master key, or altered data)"
        case .libcrypto(let step): "libcrypto failed at \(step)"
        }
    }
}
