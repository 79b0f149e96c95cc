import VigilAPI
import VigilConcurrency
import VigilCore
import VigilHTTP
import VigilStore

/// `/console/cases/{id}`: a case's alerts in order, its status and next event, the
/// who-is-acting board, and for the filing partner a form to file an update or a cancel,
/// through the same filing path as the API (issue 20). The update carries the case's first
/// alert's country, threat, defender and protection, read on the server: the form asks only
/// for what changed.
struct CasePage {
    let console: ConsoleRoutes

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/cases/{id}", partnerPage: true) { request, visitor, _ in
            show(request.pathParameters["id"] ?? "", visitor, notice: request.query["done"] == "updated" ? visitor.text["case.notice.updated"] : nil,
                 errors: [:], values: FormBody(values: ["idempotency_key": [FilingPage.newKey()]]))
        }
        console.add(&router, "POST", "/console/cases/{id}", roles: [.partner], partnerPage: true) { request, visitor, form in
            update(request.pathParameters["id"] ?? "", visitor, form)
        }
    }

    /// The who-is-acting board as a table (`#board`), notes only at their alert's clearance.
    static func boardTable(_ rows: [CaseBoard.Row], clearance: Confidentiality, _ t: ConsoleText) -> HTML {
        guard !rows.isEmpty else { return "<h2>\(t["board.title"])</h2><p id=\"board-empty\">\(t["board.none"])</p>" }
        let items = rows.map { row -> HTML in
            let action: HTML = row.ack.map { "\(t.word("action", $0.action.rawValue))" } ?? "<span class=\"withheld\">\(t["board.no_ack"])</span>"
            let note: String = row.ack?.note.map { clearance >= row.ackClearance ? $0 : t["alert.withheld"] } ?? ""
            return """
                <tr data-subscriber-id="\(row.subscriberID)" data-action="\(row.ack?.action.rawValue ?? "")"><td>\(row.organisation)</td>\
                <td>\(row.kind.map { t.word("kind", $0.rawValue) } ?? "")</td><td>\(row.delivered ? t["common.yes"] : t["common.no"])</td>\
                <td class="action">\(action)</td><td>\(row.ack?.at.description ?? "")</td><td>\(note)</td></tr>
                """
        }
        return """
            <h2>\(t["board.title"])</h2>
            <table id="board"><thead><tr><th scope="col">\(t["common.organisation"])</th><th scope="col">\(t["board.kind"])</th><th scope="col">\(t["board.delivered"])</th><th scope="col">\(t["board.action"])</th><th scope="col">\(t["board.at"])</th><th scope="col">\(t["board.note"])</th></tr></thead>
            <tbody>\(items)</tbody></table>
            """
    }

    private func update(_ id: String, _ visitor: ConsoleVisitor, _ form: FormBody) -> HTTPResponse {
        guard let caller = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        guard let first = try? console.backend.log.alert(id: id), first.alert.caseID == id else {
            return show(id, visitor, notice: nil, errors: [:], values: form)
        }
        // The case's own facts come from its first alert on the server; the form adds what changed.
        let alert = first.alert
        var values: [String: [String]] = [
            "kind": [form.text("kind") ?? "update"], "case_id": [id], "country": [alert.country.code], "threat": [alert.threat.rawValue],
            "severity": [alert.severity.rawValue], "urgency": [alert.urgency.rawValue], "certainty": [alert.certainty.rawValue],
            "confidentiality": [alert.confidentiality.rawValue], "language": [alert.language], "defender.name": [alert.defender.name],
            "summary": [form["summary"] ?? ""],
        ]
        if let region = alert.region { values["region"] = [region] }
        if let organisation = alert.defender.organisation { values["defender.organisation"] = [organisation] }
        if let role = alert.defender.role { values["defender.role"] = [role] }
        if let group = alert.defender.group { values["defender.group"] = [group.rawValue] }
        if let status = form.text("case_status") { values["case_status"] = [status] }
        let body = FilingPage.alertJSON(FormBody(values: values))
        let key = form.text("idempotency_key").flatMap { AlertFiling.isValidIdempotencyKey($0) ? $0 : nil }
        let result: Result<AppendReceipt, APIError> = BlockingPool.wait { complete in
            console.filing.file(body, by: caller, idempotencyKey: key, completion: complete)
        }
        switch result {
        case .success: return ConsoleResponse.redirect(to: "/console/cases/\(id)?done=updated")
        case .failure(.validation(let failure)):
            var errors = FilingPage.fieldErrors(failure)
            for (name, message) in errors where !["kind", "case_status", "summary"].contains(name) {
                errors[name] = nil
                errors["", default: ""] += message
            }
            return show(id, visitor, notice: nil, errors: errors, values: form, status: 422)
        case .failure(let error): return show(id, visitor, notice: nil, errors: ["": error.message], values: form, status: error.status)
        }
    }

    private func show(_ id: String, _ visitor: ConsoleVisitor, notice: String?, errors: [String: String], values: FormBody, status: Int = 200) -> HTTPResponse {
        guard let account = visitor.account, let principal = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        let t = visitor.text
        let backend = console.backend
        let access = AlertAccess(log: backend.log, deliveries: backend.deliveries)
        do {
            let all = try backend.log.alerts(matching: AlertQuery(caseID: id, limit: 1000))
            let readable = try all.filter { try access.mayRead($0.alert, account) }
            guard !readable.isEmpty else {
                return console.render(visitor, ConsoleLayout.Content(title: t["case.missing.title"], body: "<p>\(t["case.missing"])</p>"), status: 404)
            }
            backend.shared.audit.recordReads(readable, by: principal)
            let alerts = readable.map { $0.alert.redacted(for: account.clearance) }
            let caseStatus = alerts.last(where: { $0.caseStatus != nil })?.caseStatus
            let event = alerts.last(where: { $0.nextEvent != nil })?.nextEvent
            let rows = alerts.map { alert -> HTML in
                """
                <tr data-alert-id="\(alert.id)"><td><a href="/console/alerts/\(alert.id)">\(alert.receivedAt.description)</a></td>\
                <td>\(t.word("alertkind", alert.kind.rawValue))</td><td>\(alert.caseStatus.map { t.word("casestatus", $0.rawValue) } ?? "")</td><td>\(alert.summary)</td></tr>
                """
            }
            let board = try CaseBoard(deliveries: backend.deliveries, ledger: backend.shared.acknowledgements, subscribers: backend.shared.subscribers)
                .visibleRows(of: all, to: principal)
            var body: HTML = """
                <dl>
                <dt>\(t["case.id"])</dt><dd><code>\(id)</code></dd>
                <dt>\(t["case.status"])</dt><dd id="case-status">\(caseStatus.map { t.word("casestatus", $0.rawValue) } ?? t["case.status.none"])</dd>
                <dt>\(t["case.next_event"])</dt><dd id="case-next-event">\(event.map { "\(t.word("event", $0.type.rawValue)) · \($0.at.description)\($0.place.map { " · " + $0 } ?? "")" } ?? t["case.next_event.none"])</dd>
                <dt>\(t["file.defender.name"])</dt><dd>\(AlertPage.defenderName(alerts[0], t))</dd>
                </dl>
                <h2>\(t["case.timeline"])</h2>
                <table id="case-alerts"><thead><tr><th scope="col">\(t["alerts.received"])</th><th scope="col">\(t["file.kind"])</th><th scope="col">\(t["case.status"])</th><th scope="col">\(t["file.summary"])</th></tr></thead>
                <tbody>\(rows)</tbody></table>
                \(CasePage.boardTable(board, clearance: account.clearance, t))
                """
            if account.role == .partner, all.first?.alert.source.organisation == account.organisation {
                let f = FormFields(errors: errors, values: values)
                body.append("""
                    <h2 id="case-form-heading">\(t["case.form.title"])</h2>
                    <form method="post" action="/console/cases/\(id)" id="case-form" aria-labelledby="case-form-heading" novalidate>
                    <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
                    <input type="hidden" name="idempotency_key" value="\(values["idempotency_key"] ?? FilingPage.newKey())">
                    \(f.select("kind", label: t["file.kind"], options: [("update", t.word("alertkind", "update")), ("cancel", t.word("alertkind", "cancel"))], selected: values["kind"] ?? "update"))
                    \(f.select("case_status", label: t["case.status"], options: ConsoleVocabulary.options(CaseStatus.self, "casestatus", t), blank: t["case.status.unchanged"]))
                    \(f.textarea("summary", label: t["file.summary"], hint: t["case.form.summary.hint"], rows: 4))
                    <p><button type="submit">\(t["case.form.submit"])</button></p>
                    </form>
                    """)
            }
            var problems: [String] = errors.isEmpty ? [] : [t["common.fix"]]
            if let general = errors[""] { problems.append(general) }
            return console.render(visitor, ConsoleLayout.Content(title: t["case.title"], body: body, notice: notice, problems: problems), status: status)
        } catch {
            return console.render(visitor, ConsoleLayout.Content(title: t["case.missing.title"], body: "<p>\(t["common.unavailable"])</p>"), status: 503)
        }
    }
}
