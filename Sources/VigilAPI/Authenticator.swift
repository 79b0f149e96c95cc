import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import VigilCore
import VigilCrypto
import VigilHTTP
import VigilStore

/// Turns an `Authorization: Bearer` header into the caller's token record, or the `401`
/// / `403` / `429` that refuses it.
///
/// Lookups are by the SHA-256 of the presented secret, and so is the cache: the secret itself
/// is never kept. Only tokens the store knows are cached (for a couple of seconds, which bounds
/// how long a revoked token keeps working), so spraying random tokens cannot push good entries
/// out; the cache holds at most `maxCacheEntries` entries (4096 by default) and `maxCacheBytes` bytes, and when
/// full drops the entries closest to expiry one at a time, never the whole cache at once.
///
/// Failed authentications are counted per client address: after `failuresAllowed` failures in
/// `failureWindow` seconds the address gets `429` with `Retry-After`, before any lookup.
public final class Authenticator: Sendable {
    private struct CachedToken {
        let record: TokenRecord
        let expires: Double
        let bytes: Int
    }

    private struct FailureWindow {
        var started: Double
        var count: Int
    }

    private struct State {
        var cache: [String: CachedToken] = [:]
        var cacheBytes = 0
        var failures: [String: FailureWindow] = [:]
    }

    /// Most tokens cached at once, unless the initialiser says otherwise.
    public static let defaultMaxCacheEntries = 4096
    /// Most bytes of cached token records (ids, organisations, digests and bookkeeping).
    public static let maxCacheBytes = 1 << 20
    /// Failed authentications an address may make per window before it is throttled, unless
    /// the initialiser says otherwise (the `auth_failure_limit` setting).
    public static let failureLimit = 10
    /// The window of failed authentications, in seconds.
    public static let failureWindow = 60.0
    /// Most client addresses whose failures are remembered at once.
    public static let maxTrackedAddresses = 65_536

    private let tokens: TokenStore
    private let limiter: RateLimiter?
    private let cacheSeconds: Double
    private let maxCacheEntries: Int
    /// Failed authentications an address may make per window before it gets `429`.
    public let failuresAllowed: Int
    private let clock: @Sendable () -> Double
    private let state = Mutex(State())
    /// Paths that need no token here (`/healthz`, `/readyz`, `/openapi.json`, and `/metrics`, which checks its own).
    private let publicPaths: Set<String> = ["/healthz", "/readyz", "/metrics", "/openapi.json"]

    /// An authenticator over `tokens`, caching answers for `cacheSeconds`, holding each token
    /// to `limiter`'s budget when one is given and each client address to `failureLimit` failed
    /// authentications a minute; `clock` gives seconds (tests).
    public init(
        tokens: TokenStore, limiter: RateLimiter? = nil, cacheSeconds: Double = 2,
        maxCacheEntries: Int = Authenticator.defaultMaxCacheEntries, failureLimit: Int = Authenticator.failureLimit,
        clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) {
        failuresAllowed = max(1, failureLimit)
        self.tokens = tokens
        self.limiter = limiter
        self.cacheSeconds = cacheSeconds
        self.maxCacheEntries = max(1, maxCacheEntries)
        self.clock = clock
    }

    /// The caller's token if it is valid and has `scope`; otherwise the response to send.
    public func authorize(_ request: HTTPRequest, scope: Scope) -> Result<TokenRecord, APIError> {
        let record: TokenRecord
        switch authenticate(request) {
        case .failure(let error): return .failure(error)
        case .success(let found): record = found
        }
        guard record.scopes.contains(scope) else {
            return .failure(.forbidden("this token lacks the '\(scope.rawValue)' scope"))
        }
        if let limiter, let wait = limiter.admit(record.id) { return .failure(.tooManyRequests(retryAfter: wait)) }
        return .success(record)
    }

    /// The decision to take before a request's body is read or `100 Continue` is sent: `nil`
    /// to go on, or the `401` / `429` / `503` to answer at once. Public paths always go on;
    /// scopes are checked later, by the handler. Has the shape of `HTTPAdmission`.
    public func admission(_ request: HTTPRequest) -> HTTPResponse? {
        if publicPaths.contains(request.path) { return nil }
        // Acknowledgement links carry their own signed token; only the address's failure throttle applies.
        if request.path.hasPrefix("/ack/") { return throttle(request)?.response }
        // The console signs people in with its own sessions; only the address's failure throttle applies here.
        if request.path == "/console" || request.path.hasPrefix("/console/") { return throttle(request)?.response }
        // Feed URLs carry their own secret (feed readers cannot send a header); only the address's failure throttle applies.
        if request.path.hasPrefix("/feeds/") { return throttle(request)?.response }
        if case .failure(let error) = authenticate(request) { return error.response }
        return nil
    }

    /// The `429` for a client address over its failure limit, or `nil` (acknowledgement links,
    /// which need no bearer token, are held to the same throttle).
    public func throttle(_ request: HTTPRequest) -> APIError? {
        throttled(Self.clientKey(request.remoteAddress), now: clock()).map { .tooManyFailures(retryAfter: $0) }
    }

    /// Counts a refused acknowledgement link against the client address, like an unknown token.
    public func recordFailure(of request: HTTPRequest) {
        recordFailure(Self.clientKey(request.remoteAddress), now: clock())
    }

    /// The live token the request presents, after the address's failure throttle.
    private func authenticate(_ request: HTTPRequest) -> Result<TokenRecord, APIError> {
        let now = clock()
        let address = Self.clientKey(request.remoteAddress)
        if let wait = throttled(address, now: now) { return .failure(.tooManyFailures(retryAfter: wait)) }
        guard let header = request.headers["authorization"], header.utf8.count > 7, header.utf8.count <= 4096,
            header.prefix(7).lowercased() == "bearer "
        else { return .failure(.unauthorized("send Authorization: Bearer <token>")) }
        let secret = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let hash = SHA256.hex(secret)
        if let cached = state.withLock({ $0.cache[hash] }), cached.expires > now { return .success(cached.record) }
        let found: TokenRecord?
        do {
            found = try tokens.authenticate(hash: hash)
        } catch {
            return .failure(.unavailable("the token store cannot be read right now"))
        }
        guard let found else {
            recordFailure(address, now: now)
            return .failure(.unauthorized("the token is unknown or revoked"))
        }
        remember(found, hash: hash, now: now)
        return .success(found)
    }

    /// What failures are counted under: an IPv4 address as it is, an IPv6 address by its /64
    /// (one host commonly holds a whole /64, so counting single addresses would let it rotate).
    static func clientKey(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &bytes) == 1 else { return address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return bytes[12..<16].map(String.init).joined(separator: ".")  // IPv4-mapped: the IPv4 address
        }
        return stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":") + "::/64"
    }

    /// Seconds until `address` may try again, or `nil` when it is under its failure limit.
    private func throttled(_ address: String, now: Double) -> Int? {
        state.withLock { state in
            guard let window = state.failures[address] else { return nil }
            let ends = window.started + Self.failureWindow
            if now >= ends {
                state.failures[address] = nil
                return nil
            }
            return window.count >= failuresAllowed ? max(1, Int((ends - now).rounded(.up))) : nil
        }
    }

    private func recordFailure(_ address: String, now: Double) {
        state.withLock { state in
            if var window = state.failures[address], now < window.started + Self.failureWindow {
                window.count = min(window.count + 1, failuresAllowed)
                state.failures[address] = window
                return
            }
            if state.failures.count >= Self.maxTrackedAddresses {
                state.failures = state.failures.filter { now < $0.value.started + Self.failureWindow }
                // Still full: forget the oldest window, never a whole table's worth at once.
                if state.failures.count >= Self.maxTrackedAddresses,
                    let oldest = state.failures.min(by: { $0.value.started < $1.value.started })?.key {
                    state.failures[oldest] = nil
                }
            }
            state.failures[address] = FailureWindow(started: now, count: 1)
        }
    }

    private func remember(_ record: TokenRecord, hash: String, now: Double) {
        let entry = CachedToken(
            record: record, expires: now + cacheSeconds,
            bytes: 160 + hash.utf8.count + record.id.utf8.count + record.organisation.utf8.count + record.scopes.count * 24)
        state.withLock { state in
            if let old = state.cache.removeValue(forKey: hash) { state.cacheBytes -= old.bytes }
            while !state.cache.isEmpty
                && (state.cache.count >= maxCacheEntries || state.cacheBytes + entry.bytes > Self.maxCacheBytes) {
                // The entry nearest expiry goes first: the least recently looked up.
                guard let victim = state.cache.min(by: { $0.value.expires < $1.value.expires })?.key,
                    let removed = state.cache.removeValue(forKey: victim)
                else { break }
                state.cacheBytes -= removed.bytes
            }
            state.cache[hash] = entry
            state.cacheBytes += entry.bytes
        }
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

    /// Charges `record`'s rate limit `cost` more requests (a batch counts its alerts, not the
    /// one request `authorize` took); the `429` to answer when that is over the limit.
    public func charge(_ record: TokenRecord, cost: Int) -> APIError? {
        guard let limiter, cost > 0, let wait = limiter.admit(record.id, cost: Double(cost)) else { return nil }
        return .tooManyRequests(retryAfter: wait)
    }

    /// Forgets cached answers, for example after a revocation in this process.
    public func invalidate() {
        state.withLock {
            $0.cache.removeAll()
            $0.cacheBytes = 0
        }
    }

    /// How many tokens are cached and their bytes (tests, metrics).
    public var cacheFootprint: (entries: Int, bytes: Int) { state.withLock { ($0.cache.count, $0.cacheBytes) } }
}
