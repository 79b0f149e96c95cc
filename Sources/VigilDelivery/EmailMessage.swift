import Foundation
import VigilCore

/// A complete RFC 5322 message: multipart/alternative with a plain-text and an HTML part,
/// UTF-8 throughout, the subject as RFC 2047 encoded words.
public struct EmailMessage: Sendable, Equatable {
    public var from: String
    public var to: [String]
    public var subject: String
    /// Without angle brackets, for example `dlv_…@vigil.example.org`.
    public var messageID: String
    public var date: Timestamp
    public var text: String
    public var html: String
    /// Extra header fields (`X-Vigil-Delivery`, …).
    public var extraHeaders: [(String, String)] = []

    public static func == (a: EmailMessage, b: EmailMessage) -> Bool {
        a.from == b.from && a.to == b.to && a.subject == b.subject && a.messageID == b.messageID && a.text == b.text && a.html == b.html
    }

    /// A message; render it with `bytes(boundary:)`.
    public init(from: String, to: [String], subject: String, messageID: String, date: Timestamp, text: String, html: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.messageID = messageID
        self.date = date
        self.text = text
        self.html = html
    }

    /// The message on the wire, CRLF line endings, parts base64-encoded.
    public func bytes(boundary: String = "vigil-" + UUID().uuidString) -> [UInt8] {
        var lines = [
            "From: \(from)",
            "To: \(to.joined(separator: ", "))",
            "Subject: \(EmailMessage.encodedWords(subject))",
            "Date: \(EmailMessage.rfc5322Date(date))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
        ]
        lines += extraHeaders.map { "\($0.0): \($0.1)" }
        lines += [
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "--\(boundary)",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
        ]
        lines += EmailMessage.base64Lines(text)
        lines += ["--\(boundary)", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", ""]
        lines += EmailMessage.base64Lines(html)
        lines += ["--\(boundary)--", ""]
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        return stride(from: 0, to: encoded.count, by: 76).map { start in
            let from = encoded.index(encoded.startIndex, offsetBy: start)
            return String(encoded[from..<(encoded.index(from, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex)])
        }
    }

    /// `text` as RFC 2047 `=?UTF-8?B?…?=` words of at most 45 bytes each, never splitting a
    /// character, folded onto continuation lines; plain ASCII stays as it is.
    static func encodedWords(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 }) && text.count <= 900 { return text }
        var words: [String] = []
        var chunk = ""
        for character in text {
            if chunk.utf8.count + String(character).utf8.count > 45 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?" + Data($0.utf8).base64EncodedString() + "?=" }.joined(separator: "\r\n ")
    }

    /// `Sun, 22 Nov 2026 09:14:03 +0000`.
    static func rfc5322Date(_ time: Timestamp) -> String {
        let text = time.description  // 2026-11-22T09:14:03.120Z
        let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let parts = text.split(whereSeparator: { "-T:.Z".contains($0) }).map(String.init)
        let dayNumber = Int(time.milliseconds >= 0 ? time.milliseconds / 86_400_000 : (time.milliseconds - 86_399_999) / 86_400_000)
        let weekday = days[((dayNumber % 7) + 7) % 7]
        return "\(weekday), \(Int(parts[2])!) \(months[Int(parts[1])! - 1]) \(parts[0]) \(parts[3]):\(parts[4]):\(parts[5]) +0000"
    }
}

/// The email telling a subscriber's contact that a circuit breaker opened for one of its
/// channels (DESIGN §7): the notice in the subscriber's language, the channel's target and
/// Vigil's own reason (never a receiver's text).
public enum BreakerNoticeEmail {
    /// The notice to `contact` for `subscriberName`'s channel `channelID` at `target`.
    public static func message(
        to contact: String, subscriberName: String, language: String, channelID: String, target: String, reason: String, from: String,
        now: Timestamp = .now()
    ) -> EmailMessage {
        let l = EmailLabels.forLanguage(language)
        let text = "\(l.label("notice_body"))\n\n\(target)\n\n\(reason)\n"
        let escape = AlertEmail.escape
        return EmailMessage(
            from: from, to: [contact], subject: "\(l.label("notice_subject")) (\(subscriberName))",
            messageID: "breaker-\(channelID)-\(now.milliseconds)@vigil.invalid", date: now, text: text,
            html: "<p>\(escape(l.label("notice_body")))</p><p><code>\(escape(target))</code></p><p>\(escape(reason))</p>")
    }
}

/// The email of an alert for one subscriber (DESIGN §7): subject such as
/// `[CRITICAL] Belarus — arrest: <start of the summary>`, labels in the subscriber's language.
public enum AlertEmail {
    /// Builds the message; `alert` must already be redacted for the subscriber
    /// (`Alert.redacted(for:language:)`). A summary withheld from the subscriber is shown
    /// as the withheld text in the subscriber's `language`, whichever language the
    /// redaction chose.
    ///
    /// The filer's handling instructions come first, before anything else, in the
    /// subscriber's language; a follow-up says what it is in the subject (`[ESCALATED]`,
    /// `[REMINDER]`, …) and in a line after them; `ackURL`, when given, is in both parts;
    /// `acknowledgement` is what an `alert.acknowledged` report is about (its note already
    /// left out below the alert's confidentiality).
    public static func message(
        alert: Alert, to address: String, language: String, deliveryID: String, from: String, replay: Bool = false, followUp: FollowUp? = nil,
        ackURL: String? = nil, acknowledgement: Acknowledgement? = nil, now: Timestamp = .now()
    ) -> EmailMessage {
        var alert = alert
        if WithheldSummary.isWithheld(alert.summary) { alert.summary = WithheldSummary.text(for: language) }
        let l = EmailLabels.forLanguage(language)
        var prefix = "[\(l.word(for: alert.severity))]"
        if replay { prefix = "[\(l.label("replay"))] " + prefix }
        if let word = followUpPrefix(followUp) { prefix = "[\(l.label(word))] " + prefix }
        if alert.status == .exercise { prefix = "[EXERCISE] " + prefix }
        if alert.kind == .update { prefix += " \(l.label("update")):" }
        if alert.kind == .cancel { prefix += " \(l.label("cancel").split(separator: " ").first ?? ""):" }
        let start = summaryStart(alert.summary)
        let subject = "\(prefix) \(alert.country.name) — \(l.word(for: alert.threat)): \(start)"

        var rows: [(String, String)] = [
            (l.label("country"), alert.country.name + (alert.region.map { " — \($0)" } ?? "")),
            (l.label("threat"), l.word(for: alert.threat)),
            (l.label("severity"), l.word(for: alert.severity)),
            (l.label("urgency"), alert.urgency.rawValue),
            (l.label("certainty"), alert.certainty.rawValue),
            (l.label("defender"), alert.defender.name),
        ]
        if let organisation = alert.defender.organisation { rows.append((l.label("organisation"), organisation)) }
        if let role = alert.defender.role { rows.append((l.label("role"), role)) }
        if let occurred = alert.occurredAt { rows.append((l.label("occurred"), occurred.description)) }
        rows.append((l.label("received"), alert.receivedAt.description))
        rows.append((l.label("source"), alert.source.organisation))
        rows.append((l.label("case"), alert.caseID))
        if let status = alert.caseStatus { rows.append((l.label("case_status"), status.rawValue.replacingOccurrences(of: "_", with: " "))) }
        if let event = alert.nextEvent {
            rows.append((l.label("next_event"), "\(event.type.rawValue) \(event.at.description)" + (event.place.map { " — \($0)" } ?? "")))
        }
        var banner: [String] = []
        if alert.status == .exercise { banner.append(l.label("exercise")) }
        if alert.kind == .cancel { banner.append(l.label("cancel")) }
        let instructions = handlingLines(alert.handling, labels: l)
        let followUpLines = followUpLines(followUp, acknowledgement: acknowledgement, labels: l)

        var text = ""
        if !instructions.isEmpty { text += "\(l.label("handling")):\n" + instructions.map { "- \($0)\n" }.joined() + "\n" }
        text += followUpLines.map { $0 + "\n" }.joined() + (followUpLines.isEmpty ? "" : "\n")
        text += banner.map { $0 + "\n\n" }.joined()
        text += rows.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
        text += "\n\n\(l.label("summary")):\n\(alert.summary)\n"
        if !alert.links.isEmpty { text += "\n\(l.label("links")):\n" + alert.links.map { "- \($0)" }.joined(separator: "\n") + "\n" }
        if let ackURL { text += "\n\(l.label("acknowledge")):\n\(ackURL)\n" }
        text += "\n-- \n\(l.label("footer")) \(deliveryID)\n"

        var html = "<!doctype html><html lang=\"\(escape(language))\"><body>"
        if !instructions.isEmpty {
            html += "<h3>\(escape(l.label("handling")))</h3><ul>" + instructions.map { "<li><strong>\(escape($0))</strong></li>" }.joined() + "</ul>"
        }
        html += followUpLines.map { "<p><strong>\(escape($0))</strong></p>" }.joined()
        html += banner.map { "<p><strong>\(escape($0))</strong></p>" }.joined()
        html += "<table>" + rows.map { "<tr><th align=\"left\">\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined() + "</table>"
        html += "<h3>\(escape(l.label("summary")))</h3><p>\(escape(alert.summary))</p>"
        if !alert.links.isEmpty { html += "<ul>" + alert.links.map { "<li><a href=\"\(escape($0))\">\(escape($0))</a></li>" }.joined() + "</ul>" }
        if let ackURL { html += "<p><a href=\"\(escape(ackURL))\">\(escape(l.label("acknowledge")))</a><br><small>\(escape(ackURL))</small></p>" }
        html += "<p><small>\(escape(l.label("footer"))) \(escape(deliveryID))</small></p></body></html>"

        let domain = from.split(separator: "@").last.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) } ?? "vigil.invalid"
        var message = EmailMessage(from: from, to: [address], subject: subject, messageID: "\(deliveryID)@\(domain)", date: now, text: text, html: html)
        message.extraHeaders = [("X-Vigil-Delivery", deliveryID), ("X-Vigil-Alert", alert.id)]
        return message
    }

    /// The label of a follow-up's subject prefix, if it has one.
    static func followUpPrefix(_ followUp: FollowUp?) -> String? {
        switch followUp {
        case .escalation, .escalated: "escalated_prefix"
        case .reminder: "reminder_prefix"
        case .caseReminder: "case_reminder_prefix"
        case .acknowledged: "acknowledged_prefix"
        case .gathered, .digest, nil: nil
        }
    }

    /// The filer's instructions, one line each, in the reader's language (the note as the
    /// reader may see it: `[redacted]` below clearance).
    static func handlingLines(_ handling: HandlingInstructions?, labels l: EmailLabels) -> [String] {
        guard let handling, !handling.isEmpty else { return [] }
        var lines: [String] = []
        if handling.noPublicStatement { lines.append(l.label("no_public_statement")) }
        if handling.noContactWithAuthorities { lines.append(l.label("no_contact_with_authorities")) }
        if handling.noContactWithDefender { lines.append(l.label("no_contact_with_defender")) }
        let excluded = handling.excludeKinds.map { $0.rawValue.replacingOccurrences(of: "_", with: " ") } + handling.excludeSubscribers
        if !excluded.isEmpty { lines.append("\(l.label("excluded")): \(excluded.joined(separator: ", "))") }
        if let note = handling.note { lines.append("\(l.label("handling_note")): \(note)") }
        return lines
    }

    /// What a follow-up says about itself, after the instructions.
    static func followUpLines(_ followUp: FollowUp?, acknowledgement: Acknowledgement?, labels l: EmailLabels) -> [String] {
        switch followUp {
        case .escalation(let from), .escalated(let from): return ["\(l.label("escalated_from")) \(from)."]
        case .reminder: return [l.label("reminder_body")]
        case .caseReminder: return [l.label("case_reminder_body")]
        case .acknowledged(let by):
            guard let ack = acknowledgement else { return ["\(l.label("acknowledged_by")) \(by)."] }
            var lines = [
                "\(l.label("acknowledged_by")) \(ack.organisation) (\(ack.kind.rawValue.replacingOccurrences(of: "_", with: " ")), \(ack.subscriberID)) — "
                    + "\(l.label("action")): \(ack.action.rawValue.replacingOccurrences(of: "_", with: " ")), \(ack.at.description)"
            ]
            if let note = ack.note { lines.append("\(l.label("note")): \(note)") }
            return lines
        case .gathered, .digest, nil: return []
        }
    }

    /// The summary's first 60 characters, cut at a word boundary, with an ellipsis when cut.
    static func summaryStart(_ summary: String) -> String {
        guard summary.count > 60 else { return summary }
        var cut = summary.prefix(60)
        if let space = cut.lastIndex(of: " "), summary[cut.endIndex] != " " { cut = cut[..<space] }
        return cut.trimmingCharacters(in: .whitespaces.union(.punctuationCharacters)) + "…"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
