import Foundation
import VigilAPI
import VigilConcurrency
import VigilCore
import VigilHTTP
import VigilStore

/// `/console/subscriptions`: a desk's own subscribers (issue 20), one section each, with
/// their countries, minimum severity, threats, language, escalation policy and
/// acknowledgement visibility to edit, their channels (kept as they are), a button per
/// webhook channel to rotate its signing secret (the new one shown once), and a button to
/// send a test alert.
///
/// Every change goes through the API's own code: an edit becomes the subscriber JSON of
/// `PUT /v1/subscribers/{id}` (the current subscriber with the form's changes) and is saved
/// through `SubscriberEditing`, so it is validated, checked and audited as the API does, and a
/// refused edit shows the API's messages beside their fields. Inputs are named by the
/// subscriber's JSON paths (`subscriptions[0].countries`, `escalation.after_seconds`); ids
/// carry the subscriber's id in front, as one page holds a form per subscriber. A desk may
/// only touch the subscribers it is bound to, of its own organisation.
struct SubscriptionsPage {
    let console: ConsoleRoutes

    /// The languages a subscriber's messages can be in.
    static let languages = ["en", "fr", "nl", "es", "de"]

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/subscriptions", roles: [.desk]) { request, visitor, _ in
            let notice: String? =
                switch request.query["done"] {
                case "saved": visitor.text["subs.notice.saved"]
                case "tested": visitor.text["subs.notice.tested"]
                default: nil
                }
            return page(visitor, notice: notice)
        }
        console.add(&router, "POST", "/console/subscriptions/{id}", roles: [.desk]) { request, visitor, form in
            save(request.pathParameters["id"] ?? "", visitor, form)
        }
        console.add(&router, "POST", "/console/subscriptions/{id}/channels/{channel}/rotate-secret", roles: [.desk]) { request, visitor, _ in
            rotate(request.pathParameters["id"] ?? "", channelID: request.pathParameters["channel"] ?? "", visitor)
        }
        console.add(&router, "POST", "/console/subscriptions/{id}/test", roles: [.desk]) { request, visitor, _ in
            sendTest(request.pathParameters["id"] ?? "", visitor)
        }
    }

    private var registry: SubscriberRegistry { console.backend.shared.subscribers }

    /// The API's path for subscriber changes.
    private var editing: SubscriberEditing {
        SubscriberEditing(registry: registry, feedTokens: console.backend.shared.feedTokens, audit: console.backend.shared.audit, policy: console.addressPolicy, logger: console.logger)
    }

    /// A refused edit, shown again in its subscriber's section.
    private struct Refused {
        var subscriberID: String
        var values: FormBody
        var errors: [String: String]
    }

    // MARK: - Ownership

    /// Subscriber `id` when the visitor's desk is bound to it and it is of the desk's own
    /// organisation; otherwise `nil`, with the refusal audited.
    private func ownSubscriber(_ id: String, _ visitor: ConsoleVisitor, acting: String) -> Subscriber? {
        guard let account = visitor.account, let principal = visitor.principal else { return nil }
        if account.subscriberIDs.contains(id), let subscriber = try? registry.subscriber(id: id), subscriber.organisation == account.organisation {
            return subscriber
        }
        console.backend.shared.audit.record([AuditEntry(
            principal, .accessRefused, target: String(id.prefix(64).filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
            detail: "console: \(acting) of a subscriber this desk is not bound to refused")])
        return nil
    }

    /// The visitor's own subscribers, in the order of the account.
    private func ownSubscribers(_ account: Account) -> [Subscriber] {
        account.subscriberIDs.compactMap { id in
            guard let subscriber = try? registry.subscriber(id: id), subscriber.organisation == account.organisation else { return nil }
            return subscriber
        }
    }

    // MARK: - Edit

    private func save(_ id: String, _ visitor: ConsoleVisitor, _ form: FormBody) -> HTTPResponse {
        guard let caller = visitor.principal, let current = ownSubscriber(id, visitor, acting: "change") else {
            return console.refusal(visitor, status: 403, "subs.refused")
        }
        switch editing.save(body: Self.body(current, form), replacing: current.id, by: caller) {
        case .success:
            return ConsoleResponse.redirect(to: "/console/subscriptions?done=saved")
        case .failure(.validation(let failure)):
            let refused = Refused(subscriberID: current.id, values: form, errors: Self.fieldErrors(failure, of: current))
            return page(visitor, refused: refused, status: 422)
        case .failure(let error):
            return page(visitor, refused: Refused(subscriberID: current.id, values: form, errors: ["": error.message]), status: error.status)
        }
    }

    /// The subscriber JSON of `PUT /v1/subscribers/{id}`: `current` as it is stored, with what
    /// `form` changes; what the form does not carry stays as it is. Numbers that do not parse
    /// are passed on as text, so the API's validation names them; every escalation field left
    /// empty means no escalation.
    static func body(_ current: Subscriber, _ form: FormBody) -> JSONValue {
        guard case .object(var fields) = SubscriberEditing.body(of: current) else { return SubscriberEditing.body(of: current) }
        if let language = form.text("language") { fields["language"] = .string(language) }
        if let visibility = form.text("ack_visibility") { fields["ack_visibility"] = .string(visibility) }
        if case .array(let subscriptions)? = fields["subscriptions"] {
            fields["subscriptions"] = .array(subscriptions.enumerated().map { index, item in
                let prefix = "subscriptions[\(index)]."
                // A subscription the form did not show (added since the page was read) stays as it is.
                guard case .object(var subscription) = item, form[prefix + "countries"] != nil else { return item }
                subscription["countries"] = .array(words(form[prefix + "countries"] ?? "").map { .string($0) })
                if let severity = form.text(prefix + "min_severity") { subscription["min_severity"] = .string(severity) }
                let threats = form.all(prefix + "threats")
                subscription["threats"] = threats.isEmpty ? nil : .array(threats.map { .string($0) })
                return .object(subscription)
            })
        }
        let names = ["min_severity", "after_seconds", "to", "remind_every_seconds", "max_reminders"]
        if names.allSatisfy({ form["escalation." + $0] == nil }) {
            // A form without the escalation fields leaves the policy as it is.
        } else if names.allSatisfy({ form.text("escalation." + $0) == nil }) {
            fields["escalation"] = nil
        } else {
            var escalation: [String: JSONValue] = [:]
            if let severity = form.text("escalation.min_severity") { escalation["min_severity"] = .string(severity) }
            for name in ["after_seconds", "remind_every_seconds", "max_reminders"] {
                guard let text = form.text("escalation." + name) else { continue }
                escalation[name] = Int64(text).map { .number(Double($0)) } ?? .string(text)
            }
            let targets = words(form["escalation.to"] ?? "")
            if !targets.isEmpty { escalation["to"] = .array(targets.map { .string($0) }) }
            fields["escalation"] = .object(escalation)
        }
        return .object(fields)
    }

    /// The words of `text`, separated by spaces or commas.
    static func words(_ text: String) -> [String] {
        text.split { $0 == "," || $0.isWhitespace }.map(String.init)
    }

    /// The form's field names for a subscriber with `subscriptions` subscriptions.
    static func formFields(subscriptions: Int) -> Set<String> {
        var names: Set<String> = [
            "language", "ack_visibility", "escalation", "escalation.min_severity", "escalation.after_seconds", "escalation.to",
            "escalation.remind_every_seconds", "escalation.max_reminders",
        ]
        for index in 0..<subscriptions {
            for name in ["countries", "min_severity", "threats"] { names.insert("subscriptions[\(index)].\(name)") }
        }
        return names
    }

    /// The API's field errors by form field: `subscriptions[0].countries[1]` shows beside
    /// `subscriptions[0].countries`, `escalation.to[0]` beside `escalation.to`; problems of
    /// fields the form has not (a channel the address policy refuses) at the top (key "").
    static func fieldErrors(_ failure: ValidationFailure, of subscriber: Subscriber) -> [String: String] {
        let known = formFields(subscriptions: subscriber.subscriptions.count)
        var errors: [String: String] = [:]
        for error in failure.fields {
            var name = error.field
            if name.hasSuffix("]"), let open = name.lastIndex(of: "[") { name = String(name[..<open]) }
            if !known.contains(name) { name = "" }
            let message = name.isEmpty && !error.field.isEmpty && error.field != "$" ? "\(error.field): \(error.message)" : error.message
            errors[name] = errors[name].map { $0 + " " + message } ?? message
        }
        return errors
    }

    // MARK: - Rotate a webhook secret

    private func rotate(_ id: String, channelID: String, _ visitor: ConsoleVisitor) -> HTTPResponse {
        guard let caller = visitor.principal, let subscriber = ownSubscriber(id, visitor, acting: "secret rotation") else {
            return console.refusal(visitor, status: 403, "subs.refused")
        }
        let t = visitor.text
        switch editing.rotateSecret(subscriberID: subscriber.id, channelID: channelID, by: caller) {
        case .success(let rotated):
            let target = subscriber.channels.first { $0.id == rotated.channelID }?.target ?? rotated.channelID
            // Answered with a page, not a redirect: the secret must not go into a URL.
            let body: HTML = """
                <p>\(t["subs.secret.intro"])</p>
                <dl>
                <dt>\(t["common.subscriber"])</dt><dd>\(subscriber.name)</dd>
                <dt>\(t["subs.channel"])</dt><dd><code>\(target)</code></dd>
                </dl>
                <p><code class="secret" id="new-secret">\(rotated.secret)</code></p>
                <p>\(t["subs.secret.previous"].replacingOccurrences(of: "{time}", with: rotated.previousValidUntil.description))</p>
                <p><a href="/console/subscriptions">\(t["subs.back"])</a></p>
                """
            return console.render(visitor, ConsoleLayout.Content(title: t["subs.secret.title"], body: body))
        case .failure(let error):
            return page(visitor, refused: Refused(subscriberID: subscriber.id, values: FormBody(values: [:]), errors: ["": error.message]), status: error.status)
        }
    }

    // MARK: - Send a test alert

    private func sendTest(_ id: String, _ visitor: ConsoleVisitor) -> HTTPResponse {
        guard let caller = visitor.principal, let subscriber = ownSubscriber(id, visitor, acting: "test alert") else {
            return console.refusal(visitor, status: 403, "subs.refused")
        }
        let failed = { (message: String, status: Int) -> HTTPResponse in
            page(visitor, refused: Refused(subscriberID: subscriber.id, values: FormBody(values: [:]), errors: ["": message]), status: status)
        }
        // The console decides: a desk has no alerts:write scope, but may send itself a test.
        let filed: Result<AppendReceipt, APIError> = BlockingPool.wait { complete in
            console.filing.file(Self.testAlert(for: subscriber), by: caller, idempotencyKey: nil, completion: complete)
        }
        let receipt: AppendReceipt
        switch filed {
        case .success(let value): receipt = value
        case .failure(let error): return failed(error.message, error.status)
        }
        // A test alert is routed but never delivered; a replay naming it for this subscriber sends it.
        var selection = ReplaySelection()
        selection.alertIDs = [receipt.id]
        let replay = ReplayRequest(selection: selection, target: ReplayTarget(subscriberID: subscriber.id))
        let replayID = "rpl_" + ULID().description.lowercased()
        do {
            _ = try console.replays.start(replay, id: replayID)
        } catch {
            return failed(visitor.text["common.unavailable"], 503)
        }
        console.backend.shared.audit.record([AuditEntry(
            caller, .replayStarted, target: replayID, detail: "console test alert \(receipt.id) to \(subscriber.id)")])
        return ConsoleResponse.redirect(to: "/console/subscriptions?done=tested")
    }

    /// A test alert (`status: test`, public, with a synthetic text and no real defender) that
    /// `subscriber`'s first subscription matches: its first country (or BY when it follows
    /// every country), its minimum severity, its first threat (or `other`).
    static func testAlert(for subscriber: Subscriber) -> [UInt8] {
        let subscription = subscriber.subscriptions.first
        let country = subscription.flatMap { $0.allCountries ? nil : $0.countries.map(\.code).sorted().first } ?? "BY"
        let threat = subscription?.threats.flatMap { $0.map(\.rawValue).sorted().first } ?? Threat.other.rawValue
        let severity = subscription?.minSeverity.rawValue ?? Severity.low.rawValue
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("status", AlertStatus.test.rawValue)
        w.field("country", country)
        w.field("threat", threat)
        w.field("severity", severity)
        w.field("urgency", Urgency.unknown.rawValue)
        w.field("certainty", Certainty.unknown.rawValue)
        w.field("confidentiality", Confidentiality.public.rawValue)
        w.field("language", "en")
        w.field(
            "summary",
            "Test alert sent from the Vigil console to check that alerts reach \(subscriber.name). No one is in danger; nothing needs to be done.")
        w.key("defender")
        w.beginObject()
        w.field("name", "Test (not a real person)")
        w.endObject()
        w.key("tags")
        w.beginArray()
        w.string("console-test")
        w.endArray()
        w.endObject()
        return w.bytes
    }

    // MARK: - The page

    private func page(_ visitor: ConsoleVisitor, notice: String? = nil, refused: Refused? = nil, status: Int = 200) -> HTTPResponse {
        guard let account = visitor.account else { return console.refusal(visitor, status: 403, "refused.signin") }
        let t = visitor.text
        let subscribers = ownSubscribers(account)
        var body: HTML = "<p>\(t["subs.intro"])</p>"
        if subscribers.isEmpty { body.append("<p id=\"no-subscribers\">\(t["subs.none"])</p>") }
        for subscriber in subscribers {
            let mine = refused?.subscriberID == subscriber.id ? refused : nil
            body.append(section(subscriber, visitor, refused: mine))
        }
        var problems: [String] = []
        if let refused {
            if refused.errors.keys.contains(where: { !$0.isEmpty }) { problems.append(t["common.fix"]) }
            if let general = refused.errors[""] { problems.append(general) }
        }
        return console.render(visitor, ConsoleLayout.Content(title: t["subs.title"], body: body, notice: notice, problems: problems), status: status)
    }

    private func section(_ subscriber: Subscriber, _ visitor: ConsoleVisitor, refused: Refused?) -> HTML {
        let t = visitor.text
        let id = subscriber.id
        var f = FormFields(errors: refused?.errors ?? [:], values: refused?.values ?? FormBody(values: [:]))
        f.idPrefix = id + "."
        let shown = refused != nil
        var subscriptions: [HTML] = []
        for (index, subscription) in subscriber.subscriptions.enumerated() {
            let prefix = "subscriptions[\(index)]."
            let countries = subscription.allCountries ? "*" : subscription.countries.map(\.code).sorted().joined(separator: " ")
            let threats = ConsoleVocabulary.options(Threat.self, "threat", t)
            let legend = t["subs.subscription"].replacingOccurrences(of: "{n}", with: String(index + 1))
            // The digest is shown, not edited here: the API sets it (issue 21), and saving the form keeps it.
            let digest: HTML = subscription.digest.map { digest in
                let text = t["subs.digest"].replacingOccurrences(of: "{below}", with: t.word("severity", digest.below.rawValue))
                    .replacingOccurrences(of: "{every}", with: digest.every.iso8601).replacingOccurrences(of: "{at}", with: digest.at.description)
                    .replacingOccurrences(of: "{timezone}", with: digest.timezone)
                return "<p class=\"hint digest\" id=\"\(id).\(prefix)digest\">\(text)</p>"
            } ?? ""
            subscriptions.append("""
                <fieldset><legend>\(legend)</legend>
                \(f.input(prefix + "countries", label: t["subs.countries"], value: shown ? nil : countries, hint: t["subs.countries.hint"]))
                \(f.select(prefix + "min_severity", label: t["subs.min_severity"], options: ConsoleVocabulary.options(Severity.self, "severity", t), selected: shown ? nil : subscription.minSeverity.rawValue))
                \(f.checkboxes(prefix + "threats", legend: t["subs.threats"], options: threats, checked: shown ? nil : Set(subscription.threats?.map(\.rawValue) ?? [])))
                <p class="hint">\(t["subs.threats.hint"])</p>
                \(digest)
                </fieldset>
                """)
        }
        let escalation = subscriber.escalation
        let languages = Self.languages.contains(subscriber.language) ? Self.languages : Self.languages + [subscriber.language]
        let locale = Locale(identifier: visitor.language.rawValue)
        let languageOptions = languages.map { (value: $0, label: locale.localizedString(forLanguageCode: $0) ?? $0) }
        let visibility = ConsoleVocabulary.options(AckVisibility.self, "visibility", t)
        let heading = "heading-\(id)"
        return """
            <section data-subscriber-id="\(id)" aria-labelledby="\(heading)">
            <h2 id="\(heading)">\(subscriber.name)</h2>
            <p>\(t.word("kind", subscriber.kind.rawValue)) · \(subscriber.organisation) · \(t["subs.clearance"]) \(t.word("confidentiality", subscriber.clearance.rawValue))</p>
            \(channelTable(subscriber, visitor))
            <h3 id="edit-heading-\(id)">\(t["subs.edit"])</h3>
            <form method="post" action="/console/subscriptions/\(id)" id="edit-\(id)" aria-labelledby="edit-heading-\(id)" novalidate>
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            \(subscriptions)
            \(f.select("language", label: t["subs.language"], options: languageOptions, selected: shown ? nil : subscriber.language))
            <fieldset><legend>\(t["subs.escalation"])</legend>
            <p class="hint">\(t["subs.escalation.hint"])</p>
            \(f.error("escalation"))\(f.select("escalation.min_severity", label: t["subs.escalation.min_severity"], options: ConsoleVocabulary.options(Severity.self, "severity", t), selected: shown ? nil : escalation?.minSeverity.rawValue ?? "", blank: t["common.none"]))
            \(f.input("escalation.after_seconds", label: t["subs.escalation.after"], value: shown ? nil : escalation.map { String($0.afterSeconds) } ?? "", hint: t["subs.seconds.hint"]))
            \(f.input("escalation.to", label: t["subs.escalation.to"], value: shown ? nil : escalation?.to.joined(separator: " ") ?? "", hint: t["subs.escalation.to.hint"]))
            \(f.input("escalation.remind_every_seconds", label: t["subs.escalation.remind"], value: shown ? nil : escalation?.remindEverySeconds.map { String($0) } ?? "", hint: t["subs.seconds.hint"]))
            \(f.input("escalation.max_reminders", label: t["subs.escalation.max_reminders"], value: shown ? nil : escalation.map { $0.remindEverySeconds == nil ? "" : String($0.maxReminders) } ?? ""))
            </fieldset>
            \(f.select("ack_visibility", label: t["subs.visibility"], options: visibility, selected: shown ? nil : subscriber.ackVisibility.rawValue, hint: t["subs.visibility.hint"]))
            <p><button type="submit" id="save-\(id)">\(t["subs.save"])</button></p>
            </form>
            <h3>\(t["subs.test.title"])</h3>
            <form method="post" action="/console/subscriptions/\(id)/test" id="test-\(id)">
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            <p class="hint">\(t["subs.test.hint"])</p>
            <p><button type="submit" class="secondary">\(t["subs.test.submit"])</button></p>
            </form>
            </section>

            """
    }

    /// The subscriber's channels (type and target), with a rotate button per webhook.
    private func channelTable(_ subscriber: Subscriber, _ visitor: ConsoleVisitor) -> HTML {
        let t = visitor.text
        let rows = subscriber.channels.map { channel -> HTML in
            let rotate: HTML =
                channel.type == .webhook
                ? """
                    <form method="post" action="/console/subscriptions/\(subscriber.id)/channels/\(channel.id)/rotate-secret">\
                    <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">\
                    <button type="submit" class="secondary" aria-label="\(t["subs.rotate"]) · \(channel.target)">\(t["subs.rotate"])</button></form>
                    """
                : ""
            return """
                <tr data-channel-id="\(channel.id)"><td>\(t.word("channel", channel.type.rawValue))</td><td><code>\(channel.target)</code></td><td>\(rotate)</td></tr>
                """
        }
        return """
            <table class="channels"><caption>\(t["subs.channels"])</caption>
            <thead><tr><th scope="col">\(t["subs.channel.type"])</th><th scope="col">\(t["subs.channel"])</th><th scope="col">\(t["subs.channel.secret"])</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            <p class="hint">\(t["subs.channels.hint"])</p>
            """
    }
}
