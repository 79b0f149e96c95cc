import Foundation
import VigilCore
import VigilHTTP
import VigilStore

/// Turns an `Authorization: Bearer` header into the caller's token record, or the `401`
/// / `403` that refuses it.
///
/// Lookups are by the SHA-256 of the presented secret; results are cached for a couple of
/// seconds so the hot ingest path does not read the store on every request, which bounds
/// how long a revoked token keeps working.
public final class Authenticator: @unchecked Sendable {
    private let tokens: TokenStore
    private let limiter: RateLimiter?
    private let cacheSeconds: Double
    private let lock = NSLock()
    private var cache: [String: (record: TokenRecord?, expires: Double)] = [:]

    /// An authenticator over `tokens`, caching answers for `cacheSeconds`, and holding each
    /// token to `limiter`'s budget when one is given.
    public init(tokens: TokenStore, limiter: RateLimiter? = nil, cacheSeconds: Double = 2) {
        self.tokens = tokens
        self.limiter = limiter
        self.cacheSeconds = cacheSeconds
    }

    /// The caller's token if it is valid and has `scope`; otherwise the response to send.
    public func authorize(_ request: HTTPRequest, scope: Scope) -> Result<TokenRecord, APIError> {
        guard let header = request.headers["authorization"], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else { return .failure(.unauthorized("send Authorization: Bearer <token>")) }
        let secret = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let now = Date().timeIntervalSince1970
        let cached = lock.withLock { cache[secret] }
        let record: TokenRecord?
        if let cached, cached.expires > now {
            record = cached.record
        } else {
            do {
                record = try tokens.authenticate(secret: secret)
            } catch {
                return .failure(.unavailable("the token store cannot be read right now"))
            }
            lock.withLock {
                if cache.count > 10_000 { cache.removeAll() }
                cache[secret] = (record, now + cacheSeconds)
            }
        }
        guard let record else { return .failure(.unauthorized("the token is unknown or revoked")) }
        guard record.scopes.contains(scope) else {
            return .failure(.forbidden("this token lacks the '\(scope.rawValue)' scope"))
        }
        if let limiter, let wait = limiter.admit(record.id) { return .failure(.tooManyRequests(retryAfter: wait)) }
        return .success(record)
    }

    /// The caller's token when it has `scope`; otherwise answers `responder` with the `401`
    /// or `403` and returns `nil`. Every handler starts with this.
    public func require(_ scope: Scope, _ request: HTTPRequest, _ responder: HTTPResponder) -> TokenRecord? {
        switch authorize(request, scope: scope) {
        case .success(let record): return record
        case .failure(let error):
            responder.send(error.response)
            return nil
        }
    }

    /// Forgets cached answers, for example after a revocation in this process.
    public func invalidate() { lock.withLock { cache.removeAll() } }
}
