import Foundation
import VigilAPI
import VigilCore
import VigilHTTP
import VigilStore

/// `/console/subscribers`: every subscriber, read-only, as operators look over who receives
/// what (issue 20): name, organisation, kind, clearance, what it follows, its channels (a
/// webhook by its host only: the path may carry a receiver's secret), its escalation policy
/// and who sees its acknowledgements. Desks edit their own on `/console/subscriptions`.
struct SubscribersPage {
    let console: ConsoleRoutes

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/subscribers", roles: [.operator, .admin]) { _, visitor, _ in show(visitor) }
    }

    /// A channel as the page shows it: a webhook by its URL's host, an email by its address.
    static func target(of channel: Channel) -> String {
        switch channel.type {
        case .webhook: channel.url.flatMap { URLComponents(string: $0)?.host } ?? ""
        case .email: channel.address ?? ""
        }
    }

    private func show(_ visitor: ConsoleVisitor) -> HTTPResponse {
        let t = visitor.text
        guard let subscribers = try? console.backend.shared.subscribers.list() else {
            return console.render(visitor, ConsoleLayout.Content(title: t["subscriberlist.title"], body: "<p>\(t["common.unavailable"])</p>"), status: 503)
        }
        guard !subscribers.isEmpty else {
            return console.render(visitor, ConsoleLayout.Content(title: t["subscriberlist.title"], body: "<p id=\"no-subscribers\">\(t["subscriberlist.none"])</p>"))
        }
        let sorted = subscribers.sorted { ($0.organisation, $0.name, $0.id) < ($1.organisation, $1.name, $1.id) }
        let rows = sorted.map { row($0, visitor) }
        let body: HTML = """
            <table id="subscribers"><caption>\(t["subscriberlist.caption"])</caption>
            <thead><tr><th scope="col">\(t["subscriberlist.name"])</th><th scope="col">\(t["common.organisation"])</th><th scope="col">\(t["board.kind"])</th>\
            <th scope="col">\(t["subscriberlist.clearance"])</th><th scope="col">\(t["subscriberlist.follows"])</th><th scope="col">\(t["subscriberlist.channels"])</th>\
            <th scope="col">\(t["subscriberlist.escalation"])</th><th scope="col">\(t["subscriberlist.ack_visibility"])</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        return console.render(visitor, ConsoleLayout.Content(title: t["subscriberlist.title"], body: body))
    }

    private func row(_ subscriber: Subscriber, _ visitor: ConsoleVisitor) -> HTML {
        let t = visitor.text
        let follows = subscriber.subscriptions.map { subscription -> HTML in
            let countries =
                subscription.allCountries
                ? t["subscriberlist.every_country"]
                : subscription.countries.map { ConsoleVocabulary.countryName($0, in: visitor.language) }.sorted().joined(separator: ", ")
            let threats = subscription.threats.map { $0.map { t.word("threat", $0.rawValue) }.sorted().joined(separator: ", ") } ?? t["subscriberlist.every_threat"]
            return """
                <li><span class="countries">\(countries)</span> · \(t["subscriberlist.min_severity"]) \(t.word("severity", subscription.minSeverity.rawValue)) · \(threats)</li>
                """
        }
        let channels = subscriber.channels.map { channel -> HTML in
            "<li data-channel-id=\"\(channel.id)\">\(t.word("channel", channel.type.rawValue)): <code>\(Self.target(of: channel))</code></li>"
        }
        let escalation: HTML = subscriber.escalation.map { policy in
            var text = t["subscriberlist.escalation.policy"]
                .replacingOccurrences(of: "{severity}", with: t.word("severity", policy.minSeverity.rawValue))
                .replacingOccurrences(of: "{seconds}", with: String(policy.afterSeconds))
                .replacingOccurrences(of: "{to}", with: policy.to.joined(separator: ", "))
            if let every = policy.remindEverySeconds {
                text += " " + t["subscriberlist.escalation.reminders"]
                    .replacingOccurrences(of: "{seconds}", with: String(every)).replacingOccurrences(of: "{max}", with: String(policy.maxReminders))
            }
            return "\(text)"
        } ?? "\(t["subscriberlist.escalation.none"])"
        return """
            <tr data-subscriber-id="\(subscriber.id)"><td>\(subscriber.name)<br><span class="hint">\(subscriber.id)</span></td><td>\(subscriber.organisation)</td>\
            <td>\(t.word("kind", subscriber.kind.rawValue))</td><td>\(t.word("confidentiality", subscriber.clearance.rawValue))</td>\
            <td><ul>\(follows)</ul></td><td><ul>\(channels)</ul></td><td>\(escalation)</td>\
            <td>\(t.word("subscriberlist.ack", subscriber.ackVisibility.rawValue))</td></tr>
            """
    }
}
