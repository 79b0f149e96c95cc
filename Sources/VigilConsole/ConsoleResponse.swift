import VigilHTTP

/// The console's responses, each with the security headers of issue 20: a strict
/// Content-Security-Policy (no inline script or style, no framing, forms only to this
/// service), `nosniff`, `no-referrer`, and `no-store` on every page (pages carry alert content
/// or an account's state; only the stylesheet may be cached).
public enum ConsoleResponse {
    /// The policy every console response carries.
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; "
        + "frame-ancestors 'none'; form-action 'self'"

    /// The headers every console response carries.
    static func securityHeaders(cacheable: Bool = false) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.set("content-security-policy", contentSecurityPolicy)
        headers.set("x-content-type-options", "nosniff")
        headers.set("referrer-policy", "no-referrer")
        headers.set("x-frame-options", "DENY")
        headers.set("cross-origin-opener-policy", "same-origin")
        headers.set("cache-control", cacheable ? "public, max-age=3600" : "no-store")
        return headers
    }

    /// A page with `status`, setting `cookies` (whole `Set-Cookie` values).
    static func page(_ html: HTML, status: Int = 200, cookies: [String] = []) -> HTTPResponse {
        var headers = securityHeaders()
        for cookie in cookies { headers.add("set-cookie", cookie) }
        return HTTPResponse(status: status, contentType: "text/html; charset=utf-8", text: html.markup, headers: headers)
    }

    /// `303 See Other` to `location` (a path of this service), setting `cookies`.
    static func redirect(to location: String, cookies: [String] = []) -> HTTPResponse {
        var headers = securityHeaders()
        headers.set("location", location)
        for cookie in cookies { headers.add("set-cookie", cookie) }
        return HTTPResponse(status: 303, contentType: "text/plain; charset=utf-8", text: "See \(location)\n", headers: headers)
    }

    /// A static asset (the stylesheet), cacheable for an hour.
    static func asset(_ text: String, contentType: String) -> HTTPResponse {
        HTTPResponse(status: 200, contentType: contentType, text: text, headers: securityHeaders(cacheable: true))
    }
}
