import VigilAPI
import VigilConcurrency
import VigilCore
import VigilCrypto
import VigilHTTP
import VigilStore

/// `/console/alerts/new`: a partner files an alert from a browser, JavaScript or not
/// (issue 20). Inputs are named by the alert's JSON paths; the form becomes the same JSON
/// the API takes and goes through the same filing path (`AlertFiling`), so a refused form
/// shows the API's own `422` messages, each beside its field. A hidden idempotency key makes
/// a double submit file once.
struct FilingPage {
    let console: ConsoleRoutes

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/alerts/new", roles: [.partner], partnerPage: true) { _, visitor, _ in
            form(visitor, values: FormBody(values: ["idempotency_key": [Self.newKey()]]), errors: [:])
        }
        console.add(&router, "POST", "/console/alerts/new", roles: [.partner], partnerPage: true) { _, visitor, form in submit(visitor, form) }
    }

    static func newKey() -> String { "console-" + Base64.encode(SecureRandom.bytes(18), urlSafe: true) }

    private func submit(_ visitor: ConsoleVisitor, _ values: FormBody) -> HTTPResponse {
        guard let caller = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        let key = values.text("idempotency_key").flatMap { AlertFiling.isValidIdempotencyKey($0) ? $0 : nil }
        let body = Self.alertJSON(values)
        let result: Result<AppendReceipt, APIError> = BlockingPool.wait { complete in
            console.filing.file(body, by: caller, idempotencyKey: key, completion: complete)
        }
        switch result {
        case .success(let receipt):
            return ConsoleResponse.redirect(to: "/console/alerts/\(receipt.id)?filed=1")
        case .failure(.validation(let failure)):
            return form(visitor, values: values, errors: Self.fieldErrors(failure), status: 422)
        case .failure(let error):
            var kept = values
            if case .conflict = error { kept = FormBody(values: values.values.merging(["idempotency_key": [Self.newKey()]]) { $1 }) }
            return form(visitor, values: kept, errors: ["": error.message], status: error.status)
        }
    }

    /// The form's fields as the alert JSON of `POST /v1/alerts`, in a fixed order (so a
    /// double submit has the same fingerprint); blank fields are left out.
    static func alertJSON(_ values: FormBody) -> [UInt8] {
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        for name in ["kind", "case_id", "country", "region", "threat", "severity", "urgency", "certainty", "confidentiality", "language", "occurred_at", "case_status"] {
            if let text = values.text(name) { w.field(name, text) }
        }
        for name in ["summary", "summary_public"] {
            if let text = values.text(name) { w.field(name, text.replacingOccurrences(of: "\r\n", with: "\n")) }
        }
        w.key("defender")
        w.beginObject()
        for name in ["name", "organisation", "role", "group"] {
            if let text = values.text("defender." + name) { w.field(name, text) }
        }
        w.endObject()
        for name in ["links", "tags"] where !values.lines(name).isEmpty {
            w.key(name)
            w.beginArray()
            for line in values.lines(name) { w.string(line) }
            w.endArray()
        }
        let flags = ["no_public_statement", "no_contact_with_authorities", "no_contact_with_defender"].filter { values.isChecked("handling." + $0) }
        let kinds = values.all("handling.exclude_kinds"), excluded = values.lines("handling.exclude_subscribers")
        let note = values.text("handling.note")
        if !flags.isEmpty || !kinds.isEmpty || !excluded.isEmpty || note != nil {
            w.key("handling")
            w.beginObject()
            for flag in flags {
                w.key(flag)
                w.bool(true)
            }
            for (name, list) in [("exclude_kinds", kinds), ("exclude_subscribers", excluded)] where !list.isEmpty {
                w.key(name)
                w.beginArray()
                for item in list { w.string(item) }
                w.endArray()
            }
            if let note { w.field("note", note) }
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }

    /// The API's field errors by form field: `links[2]` shows beside `links`, and problems
    /// of the whole alert (`$`) or of a field the form has not, at the top (key "").
    static func fieldErrors(_ failure: ValidationFailure) -> [String: String] {
        var errors: [String: String] = [:]
        for error in failure.fields {
            // `links[2]` and `handling.exclude_subscribers[0]` show beside their textarea.
            var name = error.field
            while let open = name.firstIndex(of: "["), let close = name[open...].firstIndex(of: "]") { name.removeSubrange(open...close) }
            if !formFields.contains(name) { name = "" }
            let message = name.isEmpty && error.field != "$" && !error.field.isEmpty ? "\(error.field): \(error.message)" : error.message
            errors[name] = errors[name].map { $0 + " " + message } ?? message
        }
        return errors
    }

    /// The fields of the form, by their JSON paths.
    static let formFields: Set<String> = [
        "country", "region", "threat", "severity", "urgency", "certainty", "confidentiality", "summary", "summary_public", "language", "occurred_at",
        "defender.name", "defender.organisation", "defender.role", "defender.group", "links", "tags", "handling.no_public_statement",
        "handling.no_contact_with_authorities", "handling.no_contact_with_defender", "handling.exclude_kinds", "handling.exclude_subscribers",
        "handling.note", "kind", "case_id", "defender", "handling",
    ]

    private func form(_ visitor: ConsoleVisitor, values: FormBody, errors: [String: String], status: Int = 200) -> HTTPResponse {
        let t = visitor.text
        let f = FormFields(errors: errors, values: values)
        let blank = t["common.choose"]
        let body: HTML = """
            <p>\(t["file.intro"])</p>
            <form method="post" action="/console/alerts/new" novalidate>
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            <input type="hidden" name="idempotency_key" value="\(values["idempotency_key"] ?? Self.newKey())">
            <fieldset><legend>\(t["file.where"])</legend>
            \(f.select("country", label: t["file.country"], options: ConsoleVocabulary.countries[visitor.language] ?? [], blank: blank))
            \(f.input("region", label: t["file.region"], hint: t["file.region.hint"]))
            \(f.input("occurred_at", label: t["file.occurred_at"], hint: t["file.occurred_at.hint"]))
            </fieldset>
            <fieldset><legend>\(t["file.what"])</legend>
            \(f.select("threat", label: t["file.threat"], options: ConsoleVocabulary.options(Threat.self, "threat", t), blank: blank))
            \(f.select("severity", label: t["file.severity"], options: ConsoleVocabulary.options(Severity.self, "severity", t), blank: blank, hint: t["file.severity.hint"]))
            \(f.select("urgency", label: t["file.urgency"], options: ConsoleVocabulary.options(Urgency.self, "urgency", t), selected: values["urgency"] ?? "unknown"))
            \(f.select("certainty", label: t["file.certainty"], options: ConsoleVocabulary.options(Certainty.self, "certainty", t), blank: blank))
            \(f.textarea("summary", label: t["file.summary"], hint: t["file.summary.hint"], rows: 6))
            \(f.textarea("summary_public", label: t["file.summary_public"], hint: t["file.summary_public.hint"], rows: 3))
            \(f.select("language", label: t["file.language"], options: ConsoleVocabulary.languages(in: visitor.language), selected: values["language"] ?? visitor.language.rawValue))
            </fieldset>
            <fieldset><legend>\(t["file.defender"])</legend>
            \(f.error("defender"))\(f.input("defender.name", label: t["file.defender.name"]))
            \(f.input("defender.organisation", label: t["file.defender.organisation"]))
            \(f.input("defender.role", label: t["file.defender.role"]))
            \(f.select("defender.group", label: t["file.defender.group"], options: ConsoleVocabulary.options(DefenderGroup.self, "group", t), blank: t["common.none"]))
            </fieldset>
            <fieldset><legend>\(t["file.protection"])</legend>
            \(f.select("confidentiality", label: t["file.confidentiality"], options: ConsoleVocabulary.options(Confidentiality.self, "confidentiality", t), selected: values["confidentiality"] ?? "restricted", hint: t["file.confidentiality.hint"]))
            \(f.error("handling"))\(f.checkbox("handling.no_public_statement", label: t["handling.no_public_statement"]))
            \(f.checkbox("handling.no_contact_with_authorities", label: t["handling.no_contact_with_authorities"]))
            \(f.checkbox("handling.no_contact_with_defender", label: t["handling.no_contact_with_defender"]))
            \(f.checkboxes("handling.exclude_kinds", legend: t["file.exclude_kinds"], options: ConsoleVocabulary.options(SubscriberKind.self, "kind", t)))
            \(f.textarea("handling.exclude_subscribers", label: t["file.exclude_subscribers"], hint: t["common.one_per_line"], rows: 2))
            \(f.textarea("handling.note", label: t["file.handling_note"], rows: 2))
            </fieldset>
            <fieldset><legend>\(t["file.more"])</legend>
            \(f.textarea("links", label: t["file.links"], hint: t["common.one_per_line"], rows: 3))
            \(f.textarea("tags", label: t["file.tags"], hint: t["common.one_per_line"], rows: 2))
            \(f.select("kind", label: t["file.kind"], options: ConsoleVocabulary.options(AlertKind.self, "alertkind", t), selected: values["kind"] ?? "alert"))
            \(f.input("case_id", label: t["file.case_id"], hint: t["file.case_id.hint"]))
            </fieldset>
            <p><button type="submit" id="file">\(t["file.submit"])</button></p>
            </form>
            """
        var problems: [String] = []
        if !errors.isEmpty { problems.append(t["common.fix"]) }
        if let general = errors[""] { problems.append(general) }
        return console.render(visitor, ConsoleLayout.Content(title: t["file.title"], body: body, problems: problems), status: status)
    }
}
