import VigilAPI
import VigilCore
import VigilHTTP
import VigilStore

/// `/console/alerts/{id}`: one alert redacted to the account's clearance, its deliveries per
/// organisation with a small timeline (filed → delivered → acknowledged / escalated), the
/// who-is-acting board, and for a desk the acknowledgement form, which goes through the
/// API's own acknowledgement path (issue 20).
struct AlertPage {
    let console: ConsoleRoutes

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/alerts/{id}", partnerPage: true) { request, visitor, _ in
            let notice: String? =
                switch request.query["done"] ?? (request.query["filed"] != nil ? "filed" : nil) {
                case "filed": visitor.text["alert.notice.filed"]
                case "acked": visitor.text["alert.notice.acked"]
                default: nil
                }
            return show(request.pathParameters["id"] ?? "", visitor, notice: notice, ackErrors: [:], ackValues: FormBody(values: [:]))
        }
        console.add(&router, "POST", "/console/alerts/{id}/acks", roles: [.desk, .operator, .admin], partnerPage: true) { request, visitor, form in
            acknowledge(request.pathParameters["id"] ?? "", visitor, form)
        }
    }

    /// The word for a follow-up's kind (`escalation`, `reminder`, …).
    static func kind(of followUp: FollowUp) -> String {
        switch followUp {
        case .escalation: "escalation"
        case .reminder: "reminder"
        case .caseReminder: "case_reminder"
        case .acknowledged: "acknowledged"
        case .escalated: "escalated"
        case .gathered: "gathered"
        case .digest: "digest"
        }
    }

    /// The defender's name as a reader sees it: withheld names are marked as such.
    static func defenderName(_ alert: Alert, _ t: ConsoleText) -> HTML {
        alert.defender.name == RedactionMark.redacted || alert.defender.name == RedactionMark.erased
            ? "<span class=\"withheld\">\(t["alert.withheld"])</span>" : "\(alert.defender.name)"
    }

    private func acknowledge(_ id: String, _ visitor: ConsoleVisitor, _ form: FormBody) -> HTTPResponse {
        guard let caller = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        let subscriberID = form.text("subscriber_id") ?? ""
        if visitor.account?.role == .desk, !(visitor.account?.subscriberIDs.contains(subscriberID) ?? false) {
            return show(id, visitor, notice: nil, ackErrors: ["subscriber_id": visitor.text["alert.ack.not_yours"]], ackValues: form, status: 422)
        }
        switch console.acknowledger.acknowledge(
            alertID: id, subscriberID: subscriberID, action: form.text("action"), note: form["note"], by: caller, via: .console)
        {
        case .success:
            return ConsoleResponse.redirect(to: "/console/alerts/\(id)?done=acked")
        case .failure(.validation(let failure)):
            var errors: [String: String] = [:]
            for error in failure.fields { errors[["subscriber_id", "action", "note"].contains(error.field) ? error.field : "", default: ""] += error.message }
            return show(id, visitor, notice: nil, ackErrors: errors, ackValues: form, status: 422)
        case .failure(let error):
            var field = ""
            if case .handlingConflict = error { field = "action" }
            return show(id, visitor, notice: nil, ackErrors: [field: error.message], ackValues: form, status: error.status)
        }
    }

    private func show(_ id: String, _ visitor: ConsoleVisitor, notice: String?, ackErrors: [String: String], ackValues: FormBody, status: Int = 200) -> HTTPResponse {
        guard let account = visitor.account, let principal = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        let t = visitor.text
        let backend = console.backend
        let access = AlertAccess(log: backend.log, deliveries: backend.deliveries)
        do {
            guard let stored = try backend.log.alert(id: id), try access.mayRead(stored.alert, account) else {
                return console.render(visitor, ConsoleLayout.Content(title: t["alert.missing.title"], body: "<p>\(t["alert.missing"])</p>"), status: 404)
            }
            backend.shared.audit.recordReads([stored], by: principal)
            let alert = stored.alert.redacted(for: account.clearance)
            let ownSubscribers = Set(account.subscriberIDs)
            let all = try backend.deliveries.deliveries(ofAlert: id)
            let deliveries = account.role == .desk ? all.filter { ownSubscribers.contains($0.subscriberID) } : all
            let acks = try backend.shared.acknowledgements.acknowledgements(ofAlert: id)
            let caseAlerts = try backend.log.alerts(matching: AlertQuery(caseID: alert.caseID, limit: 1000))
            let board = try CaseBoard(deliveries: backend.deliveries, ledger: backend.shared.acknowledgements, subscribers: backend.shared.subscribers)
                .visibleRows(of: caseAlerts.isEmpty ? [stored] : caseAlerts, to: principal)
            var body = details(alert, t, visitor.language)
            body.append(AlertTimeline.svg(alert: alert, deliveries: deliveries, acks: acks.filter { account.role != .desk || ownSubscribers.contains($0.subscriberID) }, t))
            body.append(deliveryTable(deliveries, t))
            body.append(CasePage.boardTable(board, clearance: account.clearance, t))
            if account.role != .partner {
                let recipients = all.filter { $0.followUp == nil && $0.state != .skipped }.map(\.subscriberID)
                let mine = account.role == .desk ? recipients.filter { ownSubscribers.contains($0) } : recipients
                if !mine.isEmpty { body.append(ackForm(id, Array(Set(mine)).sorted(), visitor, errors: ackErrors, values: ackValues)) }
            }
            let title = "\(t.word("threat", alert.threat.rawValue)) · \(ConsoleVocabulary.countryName(alert.country, in: visitor.language))"
            return console.render(visitor, ConsoleLayout.Content(title: title, body: body, notice: notice, problems: ackErrors.isEmpty ? [] : [t["common.fix"]] + (ackErrors[""].map { [$0] } ?? [])), status: status)
        } catch {
            return console.render(visitor, ConsoleLayout.Content(title: t["alert.missing.title"], body: "<p>\(t["common.unavailable"])</p>"), status: 503)
        }
    }

    private func details(_ alert: Alert, _ t: ConsoleText, _ language: ConsoleLanguage) -> HTML {
        var rows: [HTML] = [
            "<dt>\(t["alert.id"])</dt><dd><code id=\"alert-id\">\(alert.id)</code></dd>",
            "<dt>\(t["alerts.received"])</dt><dd>\(alert.receivedAt.description)</dd>",
            "<dt>\(t["file.country"])</dt><dd>\(ConsoleVocabulary.countryName(alert.country, in: language))\(alert.region.map { " · " + $0 })</dd>",
            "<dt>\(t["file.threat"])</dt><dd>\(t.word("threat", alert.threat.rawValue))</dd>",
            "<dt>\(t["file.severity"])</dt><dd class=\"sev-\(alert.severity.rawValue)\">\(t.word("severity", alert.severity.rawValue))</dd>",
            "<dt>\(t["file.urgency"])</dt><dd>\(t.word("urgency", alert.urgency.rawValue))</dd>",
            "<dt>\(t["file.certainty"])</dt><dd>\(t.word("certainty", alert.certainty.rawValue))</dd>",
            "<dt>\(t["file.confidentiality"])</dt><dd>\(t.word("confidentiality", alert.confidentiality.rawValue))</dd>",
            "<dt>\(t["file.kind"])</dt><dd>\(t.word("alertkind", alert.kind.rawValue)) · \(t.word("status", alert.status.rawValue))</dd>",
            "<dt>\(t["alert.case"])</dt><dd><a href=\"/console/cases/\(alert.caseID)\">\(alert.caseID)</a>\(alert.caseStatus.map { " · " + t.word("casestatus", $0.rawValue) })</dd>",
            "<dt>\(t["file.defender.name"])</dt><dd id=\"alert-defender\">\(AlertPage.defenderName(alert, t))</dd>",
        ]
        if let organisation = alert.defender.organisation { rows.append("<dt>\(t["file.defender.organisation"])</dt><dd>\(organisation)</dd>") }
        if let role = alert.defender.role { rows.append("<dt>\(t["file.defender.role"])</dt><dd>\(role)</dd>") }
        if let group = alert.defender.group { rows.append("<dt>\(t["file.defender.group"])</dt><dd>\(t.word("group", group.rawValue))</dd>") }
        rows.append("<dt>\(t["file.summary"])</dt><dd id=\"alert-summary\">\(alert.summary)</dd>")
        if !alert.links.isEmpty {
            let items = alert.links.map { link -> HTML in "<li>\(link)</li>" }
            rows.append("<dt>\(t["file.links"])</dt><dd><ul>\(items)</ul></dd>")
        }
        if !alert.tags.isEmpty { rows.append("<dt>\(t["file.tags"])</dt><dd>\(alert.tags.joined(separator: ", "))</dd>") }
        if let handling = alert.handling {
            var items: [HTML] = []
            if handling.noPublicStatement { items.append("<li>\(t["handling.no_public_statement"])</li>") }
            if handling.noContactWithAuthorities { items.append("<li>\(t["handling.no_contact_with_authorities"])</li>") }
            if handling.noContactWithDefender { items.append("<li>\(t["handling.no_contact_with_defender"])</li>") }
            if let note = handling.note { items.append("<li>\(note)</li>") }
            if !items.isEmpty { rows.append("<dt>\(t["alert.handling"])</dt><dd id=\"alert-handling\"><ul>\(items)</ul></dd>") }
        }
        return "<dl id=\"alert\">\(rows)</dl>"
    }

    private func deliveryTable(_ deliveries: [DeliveryRecord], _ t: ConsoleText) -> HTML {
        let registry = console.backend.shared.subscribers
        var names: [String: (name: String, organisation: String)] = [:]
        for id in Set(deliveries.map(\.subscriberID)) {
            if let subscriber = try? registry.subscriber(id: id) { names[id] = (subscriber.name, subscriber.organisation) }
        }
        let sorted = deliveries.sorted { (names[$0.subscriberID]?.organisation ?? "", $0.subscriberID, $0.createdAt) < (names[$1.subscriberID]?.organisation ?? "", $1.subscriberID, $1.createdAt) }
        let rows = sorted.map { delivery -> HTML in
            let who = names[delivery.subscriberID]
            return """
                <tr data-delivery-id="\(delivery.id)" data-state="\(delivery.state.rawValue)"><td>\(who?.organisation ?? "")</td><td>\(who?.name ?? delivery.subscriberID)</td>\
                <td>\(t.word("channel", delivery.channelType.rawValue))</td><td>\(delivery.followUp.map { t.word("followup", AlertPage.kind(of: $0)) } ?? t["alert.first_sending"])</td>\
                <td>\(t.word("state", delivery.state.rawValue))</td><td>\(delivery.attempts)</td><td>\(delivery.updatedAt.description)</td></tr>
                """
        }
        guard !rows.isEmpty else { return "<h2>\(t["alert.deliveries"])</h2><p>\(t["alert.no_deliveries"])</p>" }
        return """
            <h2>\(t["alert.deliveries"])</h2>
            <table id="deliveries"><thead><tr><th scope="col">\(t["common.organisation"])</th><th scope="col">\(t["common.subscriber"])</th><th scope="col">\(t["alert.channel"])</th><th scope="col">\(t["alert.sending"])</th><th scope="col">\(t["alert.state"])</th><th scope="col">\(t["alert.attempts"])</th><th scope="col">\(t["alert.updated"])</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }

    private func ackForm(_ id: String, _ subscriberIDs: [String], _ visitor: ConsoleVisitor, errors: [String: String], values: FormBody) -> HTML {
        let t = visitor.text
        let f = FormFields(errors: errors, values: values)
        let registry = console.backend.shared.subscribers
        let options = subscriberIDs.map { id in (value: id, label: (try? registry.subscriber(id: id))?.map { "\($0.name) (\($0.organisation))" } ?? id) }
        return """
            <h2 id="ack-heading">\(t["alert.ack.title"])</h2>
            <form method="post" action="/console/alerts/\(id)/acks" id="ack-form" aria-labelledby="ack-heading">
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            \(f.select("subscriber_id", label: t["common.subscriber"], options: options))
            \(f.select("action", label: t["alert.ack.action"], options: ConsoleVocabulary.options(AckAction.self, "action", t), selected: values["action"] ?? "seen"))
            \(f.textarea("note", label: t["alert.ack.note"], hint: t["alert.ack.note.hint"], rows: 3))
            <p><button type="submit">\(t["alert.ack.submit"])</button></p>
            </form>
            """
    }
}
