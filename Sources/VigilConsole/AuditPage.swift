import VigilAPI
import VigilCore
import VigilHTTP
import VigilStore

/// `/console/audit`: the audit trail, newest first, filtered by action and paged by sequence
/// number (`before` for older entries, `after` for newer ones), as operators read it
/// (issue 20). The actor is named by its account's email when it is a console account,
/// else by its token id (`local` for the command line).
struct AuditPage {
    let console: ConsoleRoutes

    /// Entries per page.
    static let pageSize = 100

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/audit", roles: [.operator, .admin]) { request, visitor, _ in show(request, visitor) }
    }

    /// A sequence number from a paging link: a whole number from 1, else ignored.
    private static func seq(_ text: String?) -> Int64? {
        guard let text, text.utf8.count <= 19, let value = Int64(text), value >= 1 else { return nil }
        return value
    }

    private func show(_ request: HTTPRequest, _ visitor: ConsoleVisitor) -> HTTPResponse {
        let t = visitor.text
        let trail = console.backend.shared.audit
        let action = request.query["action"].flatMap { AuditAction(rawValue: $0) }
        let after = Self.seq(request.query["after"]), before = after == nil ? Self.seq(request.query["before"]) : nil
        let entries: [AuditEntry]
        do {
            // Newer entries come oldest first from the store; the page always shows newest first.
            entries = try after.map { Array(try trail.entries(after: $0, action: action, limit: Self.pageSize).reversed()) }
                ?? trail.entries(before: before, action: action, limit: Self.pageSize)
        } catch {
            return console.render(visitor, ConsoleLayout.Content(title: t["audit.title"], body: "<p>\(t["common.unavailable"])</p>"), status: 503)
        }
        let f = FormFields(values: FormBody(values: action.map { ["action": [$0.rawValue]] } ?? [:]))
        let filters: HTML = """
            <form method="get" action="/console/audit" class="filters" role="search" aria-label="\(t["audit.filter"])">
            <div>\(f.select("action", label: t["audit.action"], options: AuditAction.allCases.map { ($0.rawValue, $0.rawValue) }, blank: t["common.all"]))</div>
            <div><button type="submit" class="secondary">\(t["alerts.apply"])</button></div>
            </form>
            """
        guard let newest = entries.first, let oldest = entries.last else {
            let back: HTML = after != nil || before != nil ? "<p><a href=\"\(link(action, nil))\" id=\"audit-latest\">\(t["audit.latest"])</a></p>" : ""
            return console.render(visitor, ConsoleLayout.Content(title: t["audit.title"], body: "\(filters)<p id=\"no-audit\">\(t["audit.none"])</p>\(back)"))
        }
        var names: [String: String] = [:]
        for id in Set(entries.map(\.tokenID)) where id.hasPrefix("acct_") {
            if let account = try? console.backend.shared.accounts.account(id: id) { names[id] = account.email }
        }
        let rows = entries.map { entry -> HTML in
            let actor = names[entry.tokenID] ?? entry.tokenID
            // A listing names its alerts comma-separated: one per line, each kept whole.
            let targets = entry.target.split(separator: ",").enumerated().map { index, part -> HTML in index == 0 ? "\(String(part))" : "<br>\(String(part))" }
            return """
                <tr data-seq="\(entry.seq)" data-action="\(entry.action.rawValue)"><td>\(entry.seq)</td><td>\(entry.at.description)</td>\
                <td class="actor">\(actor)</td><td>\(entry.organisation)</td><td>\(entry.action.rawValue)</td><td>\(targets)</td><td>\(Self.breakable(entry.detail))</td></tr>
                """
        }
        var paging: [HTML] = []
        // A full page may have more beyond it; a page read from a bound has what lies past that bound.
        let full = entries.count == Self.pageSize
        if before != nil || (after != nil && full) { paging.append("<li><a href=\"\(link(action, ("after", newest.seq)))\" id=\"audit-newer\">\(t["audit.newer"])</a></li>") }
        if oldest.seq > 1 && (after != nil || full) { paging.append("<li><a href=\"\(link(action, ("before", oldest.seq)))\" id=\"audit-older\">\(t["audit.older"])</a></li>") }
        let body: HTML = """
            \(filters)
            <table id="audit"><caption>\(t["alerts.caption"])</caption>
            <thead><tr><th scope="col">\(t["audit.seq"])</th><th scope="col">\(t["audit.at"])</th><th scope="col">\(t["audit.actor"])</th><th scope="col">\(t["common.organisation"])</th>\
            <th scope="col">\(t["audit.action"])</th><th scope="col">\(t["audit.target"])</th><th scope="col">\(t["audit.detail"])</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            \(paging.isEmpty ? HTML.empty : "<nav aria-label=\"\(t["audit.paging"])\"><ul>\(paging)</ul></nav>")
            """
        return console.render(visitor, ConsoleLayout.Content(title: t["audit.title"], body: body))
    }

    /// `text` with a line-break opportunity after each comma: a replay's selection is JSON
    /// without spaces, which would otherwise push the table wider than the page.
    static func breakable(_ text: String) -> HTML {
        HTML.joined(text.split(separator: ",", omittingEmptySubsequences: false).enumerated().map { index, part -> HTML in
            index == 0 ? "\(String(part))" : ",<wbr>\(String(part))"
        })
    }

    /// This page's address for `action` and one paging bound.
    private func link(_ action: AuditAction?, _ bound: (name: String, seq: Int64)?) -> String {
        var parts: [String] = []
        if let action { parts.append("action=" + ConsoleRoutes.queryEscape(action.rawValue)) }
        if let bound { parts.append("\(bound.name)=\(bound.seq)") }
        return parts.isEmpty ? "/console/audit" : "/console/audit?" + parts.joined(separator: "&")
    }
}
