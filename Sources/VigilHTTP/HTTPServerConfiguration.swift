#if canImport(Glibc)
import Glibc
#endif

/// Where an `HTTPServer` listens and the hard limits that keep one client from exhausting it.
public struct HTTPServerConfiguration: Sendable {
    /// Host to bind: an IPv4 or IPv6 literal, or a name such as `localhost`.
    public var host: String
    /// Port to bind; 0 picks a free one (see `HTTPServer.port`).
    public var port: Int
    /// Largest request line plus headers; beyond it the answer is `431`.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Largest body; beyond it the answer is `413`.
    public var maxBodyBytes: Int = 1024 * 1024
    /// Most connections open at once; more are answered `503` and closed. The default is
    /// half the process's descriptor limit (`RLIMIT_NOFILE`, soft), at least 16 and at most
    /// 1024. Whatever is configured, the server keeps at most half that limit open
    /// (`effectiveMaxConnections`): the other half stays for deliveries, the log and the store.
    public var maxConnections: Int = HTTPServerConfiguration.descriptorBoundedConnections(1024)
    /// Longest time from a request's first byte to its last; beyond it the answer is `408`.
    public var requestTimeout: Double = 10
    /// Longest time a kept-alive connection may sit with no request.
    public var idleTimeout: Double = 60
    /// Longest time a response may take to drain to a slow reader.
    public var writeTimeout: Double = 30
    /// Threads of the handlers' pool when the server makes its own (no `BlockingPool` given):
    /// the most requests handled at once. Handlers that wait for a group commit share it only
    /// with those waiting beside them, so this bounds that batch too. The default is four per
    /// processor, at least 8: on the ingest bench (2 cores, 32 clients) 64 threads cost a
    /// third of `POST /v1/alerts`'s rate in contention, 8 matched handlers run inline.
    public var handlerThreads: Int = HTTPServerConfiguration.defaultHandlerThreads

    /// Four threads per online processor, at least 8.
    public static var defaultHandlerThreads: Int { max(8, 4 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// `maxConnections` lowered to half the descriptor limit (and never below 16): what the
    /// server actually allows.
    public var effectiveMaxConnections: Int { HTTPServerConfiguration.descriptorBoundedConnections(maxConnections) }

    /// The process's soft limit on open descriptors (`RLIMIT_NOFILE`); `Int.max` when unlimited
    /// or unreadable.
    public static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Int.max }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY is the largest rlim_t: Int.max
    }

    /// `wanted` connections, lowered to half the descriptor limit (at least 16).
    public static func descriptorBoundedConnections(_ wanted: Int) -> Int {
        min(wanted, max(16, descriptorLimit() / 2))
    }

    /// A configuration listening on `host`:`port` with the default limits.
    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}
