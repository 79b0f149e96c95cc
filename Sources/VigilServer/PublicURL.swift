import Synchronization

/// The base of acknowledgement links (`{public_url}/ack/{token}`): `public_url` when set,
/// otherwise `http://<listen>`, whose port is known only once the server has bound it (port 0
/// picks a free one). The workers read it for every link they make; `start` settles it.
final class PublicURL: Sendable {
    private let base: Mutex<String>
    /// Whether `public_url` was configured, so binding must not replace it.
    private let configured: Bool

    /// The base from `configuration`: `public_url` without trailing slashes, or `http://<listen>` for now.
    init(_ configuration: VigilConfiguration) {
        var text = configuration.publicURL ?? "http://\(configuration.listen)"
        while text.hasSuffix("/") { text.removeLast() }
        base = Mutex(text)
        configured = configuration.publicURL != nil
    }

    /// Settles an unconfigured base on the address the server bound, `host` and `port`.
    func bound(host: String, port: Int) {
        guard !configured else { return }
        let shown = host.contains(":") ? "[\(host)]" : host
        base.withLock { $0 = "http://\(shown):\(port)" }
    }

    /// The base as it stands.
    var value: String { base.withLock { $0 } }
}
