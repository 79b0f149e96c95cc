import VigilHTTP

/// Refuses a state-changing request another site made the browser send (issue 20): by
/// `Sec-Fetch-Site` when the browser sends it (only `same-origin` passes), else by `Origin`
/// (which must name this very host; `null` is refused). A request with neither — an old
/// browser or a command-line client — still needs the form's CSRF token, as every POST does.
///
/// Chromium sends `Origin: null` on same-site form posts when the page's policy is
/// `no-referrer`, so `Origin` alone cannot decide for it; it always sends `Sec-Fetch-Site`.
public enum SameOriginCheck {
    /// Whether `request` may change state, as far as its origin tells.
    public static func allows(_ request: HTTPRequest) -> Bool {
        if let site = request.headers["sec-fetch-site"]?.lowercased() { return site == "same-origin" }
        guard let origin = request.headers["origin"] else { return true }
        guard let host = request.headers["host"]?.lowercased(), !host.isEmpty else { return false }
        let lowered = origin.lowercased()
        return lowered == "http://" + host || lowered == "https://" + host
    }
}
