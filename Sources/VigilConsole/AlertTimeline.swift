import VigilHTTP
import VigilCore

/// The small inline SVG on an alert's page (issue 20): filed → delivered → acknowledged, and
/// escalated when an escalation went out. A step reached is a filled circle with its time; one
/// not reached is hollow. Drawn with presentation attributes only (the page's policy forbids
/// inline styles), with a text alternative for screen readers.
enum AlertTimeline {
    static func svg(alert: Alert, deliveries: [DeliveryRecord], acks: [Acknowledgement], _ t: ConsoleText) -> HTML {
        let delivered = deliveries.filter { $0.followUp == nil && $0.state == .delivered }.map(\.updatedAt).min()
        let acknowledged = acks.map(\.at).min()
        let escalated = deliveries.filter {
            if case .escalation? = $0.followUp { return $0.state == .delivered }
            return false
        }.map(\.updatedAt).min()
        var steps: [(label: String, at: Timestamp?)] = [
            (t["timeline.filed"], alert.receivedAt), (t["timeline.delivered"], delivered), (t["timeline.acknowledged"], acknowledged),
        ]
        if let escalated { steps.append((t["timeline.escalated"], escalated)) }
        let width = 160 * steps.count
        var parts: [HTML] = []
        for (index, step) in steps.enumerated() {
            let x = 40 + index * 160
            if index > 0 { parts.append("<line x1=\"\(x - 150)\" y1=\"30\" x2=\"\(x - 10)\" y2=\"30\" stroke=\"#595959\" stroke-width=\"2\"/>") }
            let fill: HTML = step.at == nil ? "#ffffff" : "#0b4f9c"
            parts.append("<circle cx=\"\(x)\" cy=\"30\" r=\"9\" fill=\"\(fill)\" stroke=\"#0b4f9c\" stroke-width=\"3\"/>")
            parts.append("<text x=\"\(x)\" y=\"60\" text-anchor=\"middle\">\(step.label)</text>")
            parts.append("<text x=\"\(x)\" y=\"78\" text-anchor=\"middle\">\(step.at.map(Self.short) ?? "—")</text>")
        }
        let description = steps.map { "\($0.label): \($0.at?.description ?? t["timeline.not_yet"])" }.joined(separator: "; ")
        return """
            <h2>\(t["timeline.title"])</h2>
            <svg class="timeline" id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(width) 90" width="\(width)" height="90" role="img" aria-label="\(description)">\(parts)</svg>
            """
    }

    /// `2026-12-07 14:03` from a timestamp (UTC).
    static func short(_ at: Timestamp) -> String {
        let text = at.description
        guard text.count >= 16 else { return text }
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5)
    }
}
