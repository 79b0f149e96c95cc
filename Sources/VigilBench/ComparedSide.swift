import VigilHTTPClient

/// One side of an Alertmanager comparison: a service on loopback that takes bench alerts
/// over HTTP and delivers each one to every webhook endpoint it was started with, all on
/// the same `WebhookSink`.
protocol ComparedSide: Sendable {
    /// Its name in the table.
    var name: String { get }
    /// Its loopback port.
    var port: Int { get }
    /// Files one alert per key, all in one request on `client` (`POST /v1/alerts` for a
    /// single Vigil alert, its batch endpoint for more; Alertmanager takes a list either
    /// way); returns how many it accepted.
    func file(_ keys: [String], on client: BlockingHTTPClient) throws -> Int
    /// Its resident memory in bytes now (`VmRSS`).
    var residentBytes: Double { get }
    /// Stops it and removes what it stored.
    func stop()
}
