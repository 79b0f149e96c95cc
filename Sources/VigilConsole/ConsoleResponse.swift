import VigilHTTP

/// The console's responses, each with the security headers of every Vigil page (`PageHeaders`).
public enum ConsoleResponse {
    /// The headers every console response carries (`PageHeaders`).
    static func securityHeaders(cacheable: Bool = false) -> HTTPHeaders { PageHeaders.make(cacheable: cacheable) }

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
