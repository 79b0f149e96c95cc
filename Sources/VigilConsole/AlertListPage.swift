import VigilAPI
import VigilCore
import VigilHTTP
import VigilStore

/// `/console/alerts`: the alerts an account may open, newest first, filtered by country,
/// severity and status, each redacted to the account's clearance (issue 20). Partners see
/// their organisation's filings, desks their subscribers' feed, operators everything.
struct AlertListPage {
    let console: ConsoleRoutes

    /// Alerts per page.
    static let pageSize = 50

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/alerts", partnerPage: true) { request, visitor, _ in list(request, visitor) }
    }

    private func list(_ request: HTTPRequest, _ visitor: ConsoleVisitor) -> HTTPResponse {
        guard let account = visitor.account, let principal = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        let t = visitor.text
        var filter = AlertAccess.Filter()
        filter.country = request.query["country"].flatMap { CountryCode($0) }
        filter.severity = request.query["severity"].flatMap { Severity(rawValue: $0) }
        filter.status = request.query["status"].flatMap { AlertStatus(rawValue: $0) }
        filter.before = request.query["before"].flatMap { Int64($0) }.flatMap { $0 > 1 ? $0 : nil }
        let access = AlertAccess(log: console.backend.log, deliveries: console.backend.deliveries)
        guard let (alerts, continueBelow) = try? access.newest(account, filter, limit: Self.pageSize) else {
            return console.render(visitor, ConsoleLayout.Content(title: t["alerts.title"], body: "<p>\(t["common.unavailable"])</p>"), status: 503)
        }
        console.backend.shared.audit.recordListing(alerts, by: principal)
        let f = FormFields(values: FormBody(values: request.query.mapValues { [$0] }))
        let countries = ConsoleVocabulary.countries[visitor.language] ?? []
        let filters: HTML = """
            <form method="get" action="/console/alerts" class="filters" role="search" aria-label="\(t["alerts.filter"])">
            <div>\(f.select("country", label: t["file.country"], options: countries, blank: t["common.all"]))</div>
            <div>\(f.select("severity", label: t["file.severity"], options: ConsoleVocabulary.options(Severity.self, "severity", t), blank: t["common.all"]))</div>
            <div>\(f.select("status", label: t["alerts.status"], options: ConsoleVocabulary.options(AlertStatus.self, "status", t), blank: t["common.all"]))</div>
            <div><button type="submit" class="secondary">\(t["alerts.apply"])</button></div>
            </form>
            """
        var rows: [HTML] = []
        for stored in alerts {
            let alert = stored.alert.redacted(for: account.clearance)
            rows.append("""
                <tr data-alert-id="\(alert.id)">
                <td><a href="/console/alerts/\(alert.id)">\(alert.receivedAt.description)</a></td>
                <td>\(ConsoleVocabulary.countryName(alert.country, in: visitor.language))\(alert.region.map { " · " + $0 })</td>
                <td>\(t.word("threat", alert.threat.rawValue))</td>
                <td class="sev-\(alert.severity.rawValue)">\(t.word("severity", alert.severity.rawValue))</td>
                <td>\(AlertPage.defenderName(alert, t))</td>
                <td>\(t.word("alertkind", alert.kind.rawValue))\(alert.status == .actual ? "" : " · " + t.word("status", alert.status.rawValue))</td>
                </tr>
                """)
        }
        let table: HTML =
            rows.isEmpty
            ? "<p id=\"no-alerts\">\(t["alerts.none"])</p>"
            : """
                <table id="alerts"><caption>\(t["alerts.caption"])</caption>
                <thead><tr><th scope="col">\(t["alerts.received"])</th><th scope="col">\(t["file.country"])</th><th scope="col">\(t["file.threat"])</th><th scope="col">\(t["file.severity"])</th><th scope="col">\(t["file.defender.name"])</th><th scope="col">\(t["file.kind"])</th></tr></thead>
                <tbody>\(rows)</tbody></table>
                """
        var more = HTML.empty
        if let below = continueBelow {
            var query = request.query
            query["before"] = String(below)
            let target = "/console/alerts?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\(ConsoleRoutes.queryEscape($0.value))" }.joined(separator: "&")
            more = "<p><a href=\"\(target)\" id=\"older\">\(t["alerts.older"])</a></p>"
        }
        return console.render(visitor, ConsoleLayout.Content(title: t["alerts.title"], body: "\(filters)\(table)\(more)"))
    }
}
