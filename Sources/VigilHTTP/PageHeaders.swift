/// The headers of every HTML page Vigil serves, the console's and the acknowledgement links'
/// (issue 20): a strict Content-Security-Policy (no inline script or style, nothing from
/// elsewhere, no framing, forms only to this service), `nosniff`, `no-referrer`, and
/// `no-store` (pages carry alert content or an account's state; only a stylesheet may be cached).
public enum PageHeaders {
    /// The policy every page carries.
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; "
        + "frame-ancestors 'none'; form-action 'self'"

    /// The headers, with `Cache-Control: no-store` unless `cacheable` (an hour, for static assets).
    public static func make(cacheable: Bool = false) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.set("content-security-policy", contentSecurityPolicy)
        headers.set("x-content-type-options", "nosniff")
        headers.set("referrer-policy", "no-referrer")
        headers.set("x-frame-options", "DENY")
        headers.set("cross-origin-opener-policy", "same-origin")
        headers.set("cache-control", cacheable ? "public, max-age=3600" : "no-store")
        return headers
    }
}
