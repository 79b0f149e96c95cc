import VigilCore
import VigilHTTP

/// The small server-rendered pages behind an `ack_url` (issue 19), in the subscriber's
/// language (English, French, Dutch; English for any other): the confirmation page a `GET`
/// shows, with a form whose button posts back to the same address, and the page a posted
/// form gets. Every interpolated value is escaped; every page carries a policy that allows
/// no script, no framing and forms only to this service.
enum AckPage {
    /// The words of the pages in one language.
    struct Words {
        let title: String
        let intro: String
        let alert: String
        let severity: String
        let received: String
        let already: String
        let action: String
        let note: String
        let button: String
        let done: String
        let updated: String
        let refusedBy: String
        let invalid: String
        let expired: String
        let forbidden: [String: String]
    }

    static let english = Words(
        title: "Acknowledge this alert", intro: "Confirm that your desk has seen this alert and say what it is doing.", alert: "Alert",
        severity: "Severity", received: "Received", already: "Already acknowledged", action: "What are you doing?", note: "Note (optional)",
        button: "Acknowledge", done: "Thank you: the acknowledgement is recorded.", updated: "Thank you: the acknowledgement is updated.",
        refusedBy: "The filer's handling instructions forbid this action", invalid: "This acknowledgement link is not valid.",
        expired: "This acknowledgement link has expired (links last 30 days).",
        forbidden: [
            "no_public_statement": "No public statement.", "no_contact_with_authorities": "No contact with the authorities.",
            "no_contact_with_defender": "No contact with the defender.",
        ])
    static let french = Words(
        title: "Accuser réception de cette alerte", intro: "Confirmez que votre bureau a vu cette alerte et dites ce qu'il fait.", alert: "Alerte",
        severity: "Gravité", received: "Reçue", already: "Réception déjà accusée", action: "Que faites-vous ?", note: "Note (facultative)",
        button: "Accuser réception", done: "Merci : l'accusé de réception est enregistré.", updated: "Merci : l'accusé de réception est mis à jour.",
        refusedBy: "Les consignes de l'émetteur interdisent cette action", invalid: "Ce lien d'accusé de réception n'est pas valide.",
        expired: "Ce lien d'accusé de réception a expiré (les liens durent 30 jours).",
        forbidden: [
            "no_public_statement": "Aucune déclaration publique.", "no_contact_with_authorities": "Aucun contact avec les autorités.",
            "no_contact_with_defender": "Aucun contact avec le défenseur.",
        ])
    static let dutch = Words(
        title: "Deze melding bevestigen", intro: "Bevestig dat uw desk deze melding heeft gezien en zeg wat hij doet.", alert: "Melding",
        severity: "Ernst", received: "Ontvangen", already: "Al bevestigd", action: "Wat doet u?", note: "Notitie (optioneel)", button: "Bevestigen",
        done: "Dank u: de bevestiging is geregistreerd.", updated: "Dank u: de bevestiging is bijgewerkt.",
        refusedBy: "De instructies van de indiener verbieden deze actie", invalid: "Deze bevestigingslink is niet geldig.",
        expired: "Deze bevestigingslink is verlopen (links zijn 30 dagen geldig).",
        forbidden: [
            "no_public_statement": "Geen publieke verklaring.", "no_contact_with_authorities": "Geen contact met de autoriteiten.",
            "no_contact_with_defender": "Geen contact met de verdediger.",
        ])

    /// The words for `language` (`fr`, `fr-BE`, `nl`, …); English otherwise.
    static func words(_ language: String) -> Words {
        switch language.lowercased().prefix(2) {
        case "fr": french
        case "nl": dutch
        default: english
        }
    }

    /// The headers every page and answer of `/ack/` carries: those of every Vigil page.
    static var securityHeaders: HTTPHeaders { PageHeaders.make() }

    /// A whole page around `body`.
    static func page(_ status: Int, language: String, title: String, body: HTML) -> HTTPResponse {
        let html: HTML = """
            <!doctype html>
            <html lang="\(String(language.prefix(2)))"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
            <title>\(title)</title></head>
            <body><main><h1>\(title)</h1>
            \(body)
            </main></body></html>
            """
        return HTTPResponse(status: status, contentType: "text/html; charset=utf-8", text: html.markup, headers: securityHeaders)
    }

    /// The confirmation page of a `GET`: what the alert is (no identity: the link may have been
    /// forwarded), the acknowledgement so far, and the form. Actions the filer forbids are not offered.
    static func confirmation(alert: Alert, subscriber: Subscriber, existing: Acknowledgement?) -> HTTPResponse {
        let w = words(subscriber.language)
        var body: HTML = "<p>\(w.intro)</p>\n<dl>"
        body.append("<dt>\(w.alert)</dt><dd>\(alert.id)</dd>")
        body.append("<dt>\(w.severity)</dt><dd>\(alert.severity.rawValue)</dd>")
        body.append("<dt>\(w.received)</dt><dd>\(alert.receivedAt.description)</dd>")
        if let existing {
            body.append("<dt>\(w.already)</dt><dd>\(existing.action.rawValue), \(existing.at.description)</dd>")
        }
        body.append("</dl>\n")
        let instructions = instructionLines(alert.handling, words: w)
        if !instructions.isEmpty { body.append("<ul>\(instructions.map { line -> HTML in "<li>\(line)</li>" })</ul>\n") }
        var options: [HTML] = []
        for action in AckAction.allCases where alert.handling?.forbids(action) == nil {
            let selected: HTML = action == (existing?.action ?? .seen) ? " selected" : ""
            options.append("<option value=\"\(action.rawValue)\"\(selected)>\(action.rawValue.replacingOccurrences(of: "_", with: " "))</option>")
        }
        body.append("""
            <form method="post"><p><label for="action">\(w.action)</label> <select id="action" name="action">\(options)</select></p>
            <p><label for="note">\(w.note)</label><br><textarea id="note" name="note" rows="4" cols="50" maxlength="\(Acknowledger.maxNoteCharacters)"></textarea></p>
            <p><button type="submit">\(w.button)</button></p></form>
            """)
        return page(200, language: subscriber.language, title: w.title, body: body)
    }

    /// The page a posted form gets once the acknowledgement is recorded.
    static func recorded(_ ack: Acknowledgement, first: Bool, language: String) -> HTTPResponse {
        let w = words(language)
        return page(200, language: language, title: w.title, body: "<p>\(first ? w.done : w.updated)</p><p>\(ack.action.rawValue)</p>")
    }

    /// A page saying why nothing was recorded.
    static func refusal(_ status: Int, message: String, language: String = "en") -> HTTPResponse {
        page(status, language: language, title: words(language).title, body: "<p>\(message)</p>")
    }

    /// The filer's instructions that forbid actions, translated.
    static func instructionLines(_ handling: HandlingInstructions?, words: Words) -> [String] {
        guard let handling else { return [] }
        var lines: [String] = []
        if handling.noPublicStatement, let line = words.forbidden["no_public_statement"] { lines.append(line) }
        if handling.noContactWithAuthorities, let line = words.forbidden["no_contact_with_authorities"] { lines.append(line) }
        if handling.noContactWithDefender, let line = words.forbidden["no_contact_with_defender"] { lines.append(line) }
        return lines
    }
}
