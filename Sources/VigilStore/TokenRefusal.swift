/// Why a token could not be stored.
public enum TokenRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The secret belongs to the revoked token `id`; revocation is final.
    case revoked(id: String)

    public var description: String {
        switch self {
        case .revoked(let id): "the secret belongs to token \(id), which was revoked; revocation is final: make a token with a new secret"
        }
    }
}
