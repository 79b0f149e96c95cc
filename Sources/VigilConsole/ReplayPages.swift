import VigilAPI
import VigilCore
import VigilHTTP
import VigilStore

/// `/console/replays/new` and `/console/replays/{id}`: an operator picks alerts to send again,
/// sees a dry run of what would be sent (each alert redacted to the account's clearance),
/// confirms, and follows the replay's progress (issue 20). The form becomes the JSON of
/// `POST /v1/replays` and goes through the API's own path (`ReplayLauncher`: the same parser,
/// so the same messages beside their fields; the same runner; the same audit entries).
struct ReplayPages {
    let console: ConsoleRoutes

    /// Alerts listed in a preview (all are counted).
    static let previewLimit = 200
    /// Seconds between reloads of a running replay's page.
    static let refreshSeconds = 5

    /// The form's fields, named as the API's JSON keys.
    static let fields = ["from_offset", "to_offset", "since", "until", "case_id", "countries", "severities", "threats", "subscriber_id", "channel_id"]

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/replays/new", roles: [.operator, .admin]) { _, visitor, _ in
            form(visitor, values: FormBody(values: [:]), errors: [:], preview: .empty)
        }
        console.add(&router, "POST", "/console/replays/new", roles: [.operator, .admin]) { _, visitor, form in submit(visitor, form) }
        console.add(&router, "GET", "/console/replays/{id}", roles: [.operator, .admin]) { request, visitor, _ in
            progress(request.pathParameters["id"] ?? "", visitor)
        }
    }

    private var launcher: ReplayLauncher {
        ReplayLauncher(runner: console.replays, store: console.backend.shared.replays, audit: console.backend.shared.audit)
    }

    /// The form as the JSON body of `POST /v1/replays`, `dry_run` as asked. Offsets that are
    /// whole numbers go as numbers, anything else as text for the API's parser to refuse with
    /// its own message; countries are split on spaces and commas; blank fields are left out.
    static func replayJSON(_ values: FormBody, dryRun: Bool) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        for name in ["from_offset", "to_offset"] {
            guard let text = values.text(name) else { continue }
            if let number = Int64(text) {
                w.key(name)
                w.integer(number)
            } else {
                w.field(name, text)
            }
        }
        for name in ["since", "until", "case_id", "subscriber_id", "channel_id"] {
            if let text = values.text(name) { w.field(name, text) }
        }
        let countries = countryCodes(values["countries"] ?? "")
        for (name, list) in [("countries", countries), ("severities", values.all("severities")), ("threats", values.all("threats"))] where !list.isEmpty {
            w.key(name)
            w.strings(list)
        }
        w.key("dry_run")
        w.bool(dryRun)
        w.endObject()
        return w.bytes
    }

    /// The codes in a countries field: separated by spaces or commas, upper-cased.
    static func countryCodes(_ text: String) -> [String] {
        text.split { $0 == "," || $0.isWhitespace }.map { $0.uppercased() }
    }

    /// The API's field errors by form field (`countries[1]` shows beside `countries`); the
    /// problems of the whole request at the top (key "").
    static func fieldErrors(_ failure: ValidationFailure) -> [String: String] {
        var errors: [String: String] = [:]
        for error in failure.fields {
            var name = error.field
            if let open = name.firstIndex(of: "[") { name = String(name[..<open]) }
            if !fields.contains(name) { name = "" }
            let message = name.isEmpty && !error.field.isEmpty ? "\(error.field): \(error.message)" : error.message
            errors[name] = errors[name].map { $0 + " " + message } ?? message
        }
        return errors
    }

    private func submit(_ visitor: ConsoleVisitor, _ values: FormBody) -> HTTPResponse {
        guard let caller = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        let confirming = values["step"] == "confirm"
        switch launcher.submit(Self.replayJSON(values, dryRun: !confirming), by: caller) {
        case .success(.started(let progress)):
            return ConsoleResponse.redirect(to: "/console/replays/\(progress.id)")
        case .success(.planned(let plan)):
            return form(visitor, values: values, errors: [:], preview: preview(plan, values, visitor), tableShown: plan.deliveryCount > 0)
        case .failure(.validation(let failure)):
            return form(visitor, values: values, errors: Self.fieldErrors(failure), preview: .empty, status: 422)
        case .failure(let error):
            return form(visitor, values: values, errors: ["": error.message], preview: .empty, status: error.status)
        }
    }

    /// The dry run as a table of the alerts that would be sent again (`#preview`), and the
    /// confirm form carrying the same selection in hidden fields.
    private func preview(_ plan: ReplayRunner.Plan, _ values: FormBody, _ visitor: ConsoleVisitor) -> HTML {
        let t = visitor.text
        guard let account = visitor.account, let principal = visitor.principal else { return .empty }
        var order: [String] = [], counts: [String: Int] = [:]
        for delivery in plan.deliveries {
            if counts[delivery.alertID] == nil { order.append(delivery.alertID) }
            counts[delivery.alertID, default: 0] += 1
        }
        let shown = order.prefix(Self.previewLimit).compactMap { try? console.backend.log.alert(id: $0) }
        console.backend.shared.audit.recordListing(shown, by: principal)
        let summary = t["replay.preview.summary"]
            .replacingOccurrences(of: "{alerts}", with: String(plan.alerts)).replacingOccurrences(of: "{deliveries}", with: String(plan.deliveryCount))
            .replacingOccurrences(of: "{scanned}", with: String(plan.scanned))
        var html: HTML = "<h2 id=\"preview-heading\">\(t["replay.preview.title"])</h2><p id=\"preview-summary\">\(summary)</p>"
        guard plan.deliveryCount > 0 else {
            html.append("<p id=\"preview-empty\">\(t["replay.preview.nothing"])</p>")
            return html
        }
        let rows = shown.map { stored -> HTML in
            let alert = stored.alert.redacted(for: account.clearance)
            return """
                <tr data-alert-id="\(alert.id)"><td>\(stored.offset)</td><td><a href="/console/alerts/\(alert.id)">\(alert.receivedAt.description)</a></td>\
                <td>\(ConsoleVocabulary.countryName(alert.country, in: visitor.language))</td><td>\(t.word("threat", alert.threat.rawValue))</td>\
                <td class="sev-\(alert.severity.rawValue)">\(t.word("severity", alert.severity.rawValue))</td><td>\(AlertPage.defenderName(alert, t))</td>\
                <td>\(t.word("alertkind", alert.kind.rawValue))</td><td>\(counts[alert.id] ?? 0)</td></tr>
                """
        }
        html.append("""
            <table id="preview" aria-labelledby="preview-heading">
            <thead><tr><th scope="col">\(t["replay.offset"])</th><th scope="col">\(t["alerts.received"])</th><th scope="col">\(t["file.country"])</th>\
            <th scope="col">\(t["file.threat"])</th><th scope="col">\(t["file.severity"])</th><th scope="col">\(t["file.defender.name"])</th>\
            <th scope="col">\(t["file.kind"])</th><th scope="col">\(t["replay.deliveries"])</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """)
        if order.count > shown.count || plan.deliveryCount > plan.deliveries.count {
            html.append("<p class=\"hint\" id=\"preview-more\">\(t["replay.preview.more"])</p>")
        }
        var hidden: [HTML] = []
        for name in Self.fields {
            for value in values.all(name) { hidden.append("<input type=\"hidden\" name=\"\(name)\" value=\"\(value)\">") }
        }
        html.append("""
            <form method="post" action="/console/replays/new" id="confirm-form">
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            \(hidden)
            <p><button type="submit" id="confirm" name="step" value="confirm">\(t["replay.confirm"])</button></p>
            </form>
            """)
        return html
    }

    /// The selection form, with `preview` (and its confirm button) above it, so the answer to
    /// a preview starts with what would be sent. Once a preview is shown, its table is
    /// `#preview` and the button to preview again becomes `#preview-again` (one id, one element).
    private func form(
        _ visitor: ConsoleVisitor, values: FormBody, errors: [String: String], preview: HTML, tableShown: Bool = false, status: Int = 200
    ) -> HTTPResponse {
        let t = visitor.text
        let f = FormFields(errors: errors, values: values)
        let subscribers = ((try? console.backend.shared.subscribers.list()) ?? [])
            .sorted { ($0.organisation, $0.name) < ($1.organisation, $1.name) }
            .map { (value: $0.id, label: "\($0.name) (\($0.organisation))") }
        let body: HTML = """
            <p>\(t["replay.intro"])</p>
            \(preview)
            <form method="post" action="/console/replays/new" id="replay-form" novalidate>
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            <fieldset><legend>\(t["replay.which"])</legend>
            \(f.input("from_offset", label: t["replay.from_offset"], hint: t["replay.from_offset.hint"]))
            \(f.input("to_offset", label: t["replay.to_offset"]))
            \(f.input("since", label: t["replay.since"], hint: t["replay.time.hint"]))
            \(f.input("until", label: t["replay.until"], hint: t["replay.time.hint"]))
            \(f.input("case_id", label: t["case.id"]))
            \(f.input("countries", label: t["replay.countries"], hint: t["replay.countries.hint"]))
            \(f.checkboxes("severities", legend: t["replay.severities"], options: ConsoleVocabulary.options(Severity.self, "severity", t)))
            \(f.checkboxes("threats", legend: t["replay.threats"], options: ConsoleVocabulary.options(Threat.self, "threat", t)))
            </fieldset>
            <fieldset><legend>\(t["replay.to_whom"])</legend>
            \(f.select("subscriber_id", label: t["common.subscriber"], options: subscribers, blank: t["replay.every_subscriber"]))
            \(f.input("channel_id", label: t["replay.channel_id"], hint: t["replay.channel_id.hint"]))
            </fieldset>
            <p><button type="submit" id="\(tableShown ? "preview-again" : "preview")" name="step" value="preview">\(t["replay.preview"])</button></p>
            </form>
            """
        var problems: [String] = errors.isEmpty ? [] : [t["common.fix"]]
        if let general = errors[""] { problems.append(general) }
        return console.render(visitor, ConsoleLayout.Content(title: t["replay.title"], body: body, problems: problems), status: status)
    }

    private func progress(_ id: String, _ visitor: ConsoleVisitor) -> HTTPResponse {
        let t = visitor.text
        let progress: ReplayProgress
        switch launcher.progress(id: id) {
        case .success(let found): progress = found
        case .failure(.notFound):
            return console.render(visitor, ConsoleLayout.Content(title: t["replay.missing.title"], body: "<p>\(t["replay.missing"])</p>"), status: 404)
        case .failure:
            return console.render(visitor, ConsoleLayout.Content(title: t["replay.progress.title"], body: "<p>\(t["common.unavailable"])</p>"), status: 503)
        }
        let target = progress.target.subscriberID.map { "\($0)" + (progress.target.channelID.map { " / " + $0 } ?? "") } ?? t["replay.every_subscriber"]
        var rows: [HTML] = [
            "<dt>\(t["replay.id"])</dt><dd><code id=\"replay-id\">\(progress.id)</code></dd>",
            "<dt>\(t["alert.state"])</dt><dd id=\"replay-state\" data-state=\"\(progress.state.rawValue)\">\(t.word("replay.state", progress.state.rawValue))</dd>",
            "<dt>\(t["replay.scanned"])</dt><dd id=\"replay-scanned\">\(progress.scanned)</dd>",
            "<dt>\(t["replay.alerts"])</dt><dd id=\"replay-alerts\">\(progress.alerts)</dd>",
            "<dt>\(t["replay.deliveries"])</dt><dd id=\"replay-deliveries\">\(progress.deliveries)</dd>",
            "<dt>\(t["replay.cursor"])</dt><dd>\(progress.cursor)</dd>",
            "<dt>\(t["replay.to_whom"])</dt><dd>\(target)</dd>",
            "<dt>\(t["replay.started"])</dt><dd>\(progress.createdAt.description)</dd>",
            "<dt>\(t["alert.updated"])</dt><dd>\(progress.updatedAt.description)</dd>",
        ]
        if let error = progress.error { rows.append("<dt>\(t["replay.error"])</dt><dd id=\"replay-error\">\(error)</dd>") }
        let body: HTML = """
            <dl id="replay">\(rows)</dl>
            <p><a href="/console/replays/\(progress.id)" id="reload">\(t["replay.reload"])</a> · <a href="/console/replays/new">\(t["replay.another"])</a></p>
            """
        var response = console.render(visitor, ConsoleLayout.Content(title: t["replay.progress.title"], body: body))
        // While it runs the page reloads itself, with no script: a Refresh header, as `<meta http-equiv>` would.
        if progress.state == .running { response.headers.set("refresh", String(Self.refreshSeconds)) }
        return response
    }
}
