import VigilAPI
import VigilCore
import VigilHTTP
import VigilStore

/// `/console/deliveries`: how many deliveries are in each state, and the dead letters, newest
/// first, each with a Retry button (issue 20). The last error is shown as the API shows it,
/// without a receiver's reply (which may echo a defender's name). A retry goes through the
/// API's own path (`DeadLetters.retry`, as `POST /v1/deliveries/{id}/retry`): requeued with a
/// fresh budget, audited under the account, the workers woken.
struct DeadLettersPage {
    let console: ConsoleRoutes

    /// Dead letters shown, newest first.
    static let limit = 200

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/deliveries", roles: [.operator, .admin]) { request, visitor, _ in
            show(visitor, notice: request.query["done"] == "retried" ? visitor.text["deadletters.notice.retried"] : nil, problem: nil)
        }
        console.add(&router, "POST", "/console/deliveries/{id}/retry", roles: [.operator, .admin]) { request, visitor, _ in
            retry(request.pathParameters["id"] ?? "", visitor)
        }
    }

    private var deadLetters: DeadLetters {
        DeadLetters(queue: console.backend.deliveries, workers: console.workers, audit: console.backend.shared.audit, logger: console.logger)
    }

    private func retry(_ id: String, _ visitor: ConsoleVisitor) -> HTTPResponse {
        guard let caller = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        switch deadLetters.retry(id, by: caller) {
        case .success: return ConsoleResponse.redirect(to: "/console/deliveries?done=retried")
        case .failure(.notFound): return show(visitor, notice: nil, problem: visitor.text["deadletters.not_dead"], status: 404)
        case .failure(let error): return show(visitor, notice: nil, problem: error.message, status: error.status)
        }
    }

    private func show(_ visitor: ConsoleVisitor, notice: String?, problem: String?, status: Int = 200) -> HTTPResponse {
        let t = visitor.text
        guard case .success(let letters) = deadLetters.newest(limit: Self.limit), let counts = try? console.backend.deliveries.countsByState() else {
            return console.render(visitor, ConsoleLayout.Content(title: t["deadletters.title"], body: "<p>\(t["common.unavailable"])</p>"), status: 503)
        }
        var body: HTML = "\(countsList(counts, t))<h2>\(t["deadletters.heading"])</h2>"
        body.append(table(letters, visitor))
        if letters.isEmpty { body.append("<p id=\"no-dead-letters\">\(t["deadletters.none"])</p>") }
        return console.render(
            visitor, ConsoleLayout.Content(title: t["deadletters.title"], body: body, notice: notice, problems: problem.map { [$0] } ?? []), status: status)
    }

    /// How many deliveries are in each state (`#delivery-counts`), every state listed.
    private func countsList(_ counts: [DeliveryState: Int], _ t: ConsoleText) -> HTML {
        let items = DeliveryState.allCases.map { state -> HTML in
            "<dt>\(t.word("state", state.rawValue))</dt><dd data-state=\"\(state.rawValue)\">\(counts[state] ?? 0)</dd>"
        }
        return "<h2>\(t["deadletters.counts"])</h2><dl id=\"delivery-counts\">\(items)</dl>"
    }

    private func table(_ letters: [DeliveryRecord], _ visitor: ConsoleVisitor) -> HTML {
        let t = visitor.text
        let registry = console.backend.shared.subscribers
        var names: [String: Subscriber] = [:]
        for id in Set(letters.map(\.subscriberID)) {
            if let subscriber = try? registry.subscriber(id: id) { names[id] = subscriber }
        }
        let rows = letters.map { letter -> HTML in
            let who = names[letter.subscriberID]
            let subscriber: HTML = who.map { "\($0.name)<br><span class=\"hint\">\($0.organisation)</span>" } ?? "\(letter.subscriberID)"
            return """
                <tr data-delivery-id="\(letter.id)"><td><a href="/console/alerts/\(letter.alertID)">\(letter.alertID)</a></td>\
                <td>\(subscriber)</td><td>\(t.word("channel", letter.channelType.rawValue))<br><code>\(letter.channelID)</code></td>\
                <td>\(letter.attempts)</td><td>\(letter.lastError.map(DeliveryRecord.withoutReceiverText) ?? "")</td><td>\(letter.updatedAt.description)</td>\
                <td><form method="post" action="/console/deliveries/\(letter.id)/retry">\
                <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">\
                <button type="submit" class="secondary" aria-label="\(t["deadletters.retry"]): \(letter.id)">\(t["deadletters.retry"])</button></form></td></tr>
                """
        }
        return """
            <table id="dead-letters"><caption>\(t["deadletters.caption"])</caption>
            <thead><tr><th scope="col">\(t["alert.id"])</th><th scope="col">\(t["common.subscriber"])</th><th scope="col">\(t["alert.channel"])</th>\
            <th scope="col">\(t["alert.attempts"])</th><th scope="col">\(t["deadletters.last_error"])</th><th scope="col">\(t["alert.updated"])</th>\
            <th scope="col">\(t["deadletters.action"])</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }
}
