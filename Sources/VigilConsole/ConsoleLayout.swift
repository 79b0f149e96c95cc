import VigilHTTP
import VigilStore

/// The frame of every console page (issue 20): `lang`, one `h1`, landmarks (a skip link,
/// `header` with the navigation, `main`, `footer`), the notice and the problems of a refused
/// form, and only the console's own stylesheet. Navigation shows what the account's role may open.
struct ConsoleLayout {
    /// What a page puts in the frame.
    struct Content {
        /// The page's title and only `h1`.
        var title: String
        /// The page's own markup, under the `h1`.
        var body: HTML
        /// A confirmation to show above the body (`#notice`).
        var notice: String? = nil
        /// Problems of a refused form (`#problems`), each already worded for the reader.
        var problems: [String] = []
    }

    /// The whole page for `visitor`.
    static func render(_ content: Content, for visitor: ConsoleVisitor) -> HTML {
        let t = visitor.text
        var notice = HTML.empty
        if let text = content.notice { notice = "<p class=\"notice\" id=\"notice\" role=\"status\">\(text)</p>" }
        var problems = HTML.empty
        if !content.problems.isEmpty {
            let items = content.problems.map { problem -> HTML in "<li>\(problem)</li>" }
            problems = "<div class=\"problems\" id=\"problems\" role=\"alert\"><h2>\(t["common.problems"])</h2><ul>\(items)</ul></div>"
        }
        return """
            <!doctype html>
            <html lang="\(visitor.language.rawValue)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">
            <title>\(content.title) · Vigil</title>
            <link rel="stylesheet" href="/console/assets/console.css">
            <link rel="icon" href="/console/assets/icon.svg" type="image/svg+xml">
            </head>
            <body>
            <a class="skip" href="#main">\(t["common.skip"])</a>
            <header>
            <p class="brand">Vigil</p>
            \(navigation(for: visitor))
            </header>
            <main id="main">
            <h1>\(content.title)</h1>
            \(notice)\(problems)\(content.body)
            </main>
            <footer><p>\(t["common.footer"])</p></footer>
            </body>
            </html>

            """
    }

    /// The links the account's role may open, and the sign-out form; nothing before sign-in.
    static func navigation(for visitor: ConsoleVisitor) -> HTML {
        guard let account = visitor.account else { return .empty }
        let t = visitor.text
        var links: [(String, String)] = [("/console/alerts", t["nav.alerts"])]
        switch account.role {
        case .partner: links.append(("/console/alerts/new", t["nav.file"]))
        case .desk: links.append(("/console/subscriptions", t["nav.subscriptions"]))
        case .operator, .admin:
            links += [
                ("/console/deliveries", t["nav.deliveries"]), ("/console/replays/new", t["nav.replays"]), ("/console/audit", t["nav.audit"]),
                ("/console/subscribers", t["nav.subscribers"]),
            ]
            if account.role == .admin { links.append(("/console/users", t["nav.users"])) }
        }
        let items = links.map { link -> HTML in "<li><a href=\"\(link.0)\">\(link.1)</a></li>" }
        return """
            <nav aria-label="\(t["nav.label"])"><ul>\(items)</ul></nav>
            <form class="signout" method="post" action="/console/logout">
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            <span class="who"><a href="/console/account" id="nav-account" title="\(t["nav.account"])">\(account.email)</a> · \(account.organisation) · \(t.word("role", account.role.rawValue))</span>
            <button id="logout" type="submit">\(t["nav.logout"])</button>
            </form>
            """
    }
}
