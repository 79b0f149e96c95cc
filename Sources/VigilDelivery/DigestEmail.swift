import Foundation
import VigilCore

/// The email of a digest (issue 21): one message per window listing the alerts gathered in
/// it as a table, in the subscriber's language, times in the digest's time zone, each alert
/// with its acknowledgement link. Its `Message-ID` comes from the digest's delivery id, so a
/// resent digest is recognised as the same message.
public enum DigestEmail {
    /// The message to `address`; `digest`'s alerts are already redacted for the subscriber.
    public static func message(
        _ digest: Digest, to address: String, language: String, deliveryID: String, from: String, now: Timestamp = .now()
    ) -> EmailMessage {
        let l = EmailLabels.forLanguage(language)
        // Windows shorter than a minute (`PT10S`, for tests) would read "12:00 – 12:00": their times show seconds.
        let seconds = digest.window.start.milliseconds % 60_000 != 0 || digest.window.end.milliseconds % 60_000 != 0
        func local(_ time: Timestamp) -> String { localTime(time, digest.timezone, seconds: seconds) }
        let period = "\(local(digest.window.start)) – \(local(digest.window.end)) (\(digest.timezone))"
        let noun = l.label(digest.entries.count == 1 ? "digest_alert" : "digest_alerts")
        let subject = "[\(l.label("digest_prefix"))] \(digest.entries.count) \(noun), \(period)"
        let columns = [
            l.label("received"), l.label("severity"), l.label("country"), l.label("threat"), l.label("defender"), l.label("case_status"),
            l.label("summary"),
        ]
        // The digest is the only message its alerts get: each summary is shown whole (the
        // withheld text, in the reader's language, in place of one above the clearance).
        let rows: [[String]] = digest.entries.map { entry in
            var alert = entry.alert
            if WithheldSummary.isWithheld(alert.summary) { alert.summary = WithheldSummary.text(for: language) }
            var summary = alert.summary
            if alert.kind == .update { summary = "\(l.label("update")): " + summary }
            if alert.kind == .cancel { summary = "\(firstWord(l.label("cancel"))): " + summary }
            if alert.status == .exercise { summary = "[\(firstWord(l.label("exercise")))] " + summary }
            return [
                local(alert.receivedAt), l.word(for: alert.severity),
                alert.country.name + (alert.region.map { " — \($0)" } ?? ""), l.word(for: alert.threat), alert.defender.name,
                alert.caseStatus.map { $0.rawValue.replacingOccurrences(of: "_", with: " ") } ?? "", summary,
            ]
        }

        var text = "\(l.label("digest_intro")) \(period).\n\n"
        for (entry, row) in zip(digest.entries, rows) {
            text += zip(columns, row).filter { !$0.1.isEmpty }.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
            let instructions = AlertEmail.handlingLines(entry.alert.handling, labels: l)
            if !instructions.isEmpty { text += "\n\(l.label("handling")):\n" + instructions.map { "- \($0)" }.joined(separator: "\n") }
            text += "\n\(l.label("case")): \(entry.alert.caseID)"
            if let ack = entry.ackURL { text += "\n\(l.label("acknowledge")): \(ack)" }
            text += "\n\n"
        }
        text += "-- \n\(l.label("footer")) \(deliveryID)\n"

        let escape = MarkupText.escaped
        var html = "<!doctype html><html lang=\"\(escape(language))\"><body><p>\(escape(l.label("digest_intro"))) \(escape(period)).</p><table>"
        html += "<tr>" + columns.map { "<th align=\"left\">\(escape($0))</th>" }.joined() + "<th></th></tr>"
        for (entry, row) in zip(digest.entries, rows) {
            let instructions = AlertEmail.handlingLines(entry.alert.handling, labels: l)
            let note = instructions.isEmpty ? "" : "<br><strong>" + instructions.map(escape).joined(separator: "<br>") + "</strong>"
            html += "<tr>" + row.enumerated().map { index, cell in "<td>\(escape(cell))\(index == row.count - 1 ? note : "")</td>" }.joined()
            html += "<td>" + (entry.ackURL.map { "<a href=\"\(escape($0))\">\(escape(l.label("acknowledge")))</a>" } ?? "") + "</td></tr>"
        }
        html += "</table><p><small>\(escape(l.label("footer"))) \(escape(deliveryID))</small></p></body></html>"

        let domain = from.split(separator: "@").last.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) } ?? "vigil.invalid"
        var message = EmailMessage(from: from, to: [address], subject: subject, messageID: "\(deliveryID)@\(domain)", date: now, text: text, html: html)
        message.extraHeaders = [("X-Vigil-Delivery", deliveryID), ("X-Vigil-Digest", String(digest.entries.count))]
        return message
    }

    /// The first word of a label (`CANCELLED` of "CANCELLED — this case was filed in error."),
    /// for a marker in front of a summary.
    static func firstWord(_ label: String) -> String { label.split(separator: " ").first.map(String.init) ?? label }

    /// `2026-12-07 08:00` (`2026-12-07 08:00:10` with `seconds`) in `timezone` (UTC when it
    /// is not one Foundation knows).
    static func localTime(_ time: Timestamp, _ timezone: String, seconds: Bool = false) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timezone) ?? TimeZone(secondsFromGMT: 0)!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: time.date)
        func two(_ n: Int?) -> String { let n = n ?? 0; return n < 10 ? "0\(n)" : "\(n)" }
        return "\(c.year ?? 1970)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute))" + (seconds ? ":\(two(c.second))" : "")
    }
}
