import VigilCore

/// The words of an alert email in the subscriber's language: English, French and Dutch,
/// English for anything else.
public struct EmailLabels: Sendable {
    let severity: [Severity: String]
    let threat: [Threat: String]
    let fields: [String: String]

    /// The labels for `language` (a BCP 47 tag; only its first subtag counts).
    public static func forLanguage(_ language: String) -> EmailLabels {
        switch language.split(separator: "-").first.map({ $0.lowercased() }) {
        case "fr": french
        case "nl": dutch
        default: english
        }
    }

    func label(_ key: String) -> String { fields[key] ?? EmailLabels.english.fields[key] ?? key }
    func word(for severity: Severity) -> String { self.severity[severity] ?? severity.rawValue.uppercased() }
    func word(for threat: Threat) -> String { self.threat[threat] ?? threat.rawValue.replacingOccurrences(of: "_", with: " ") }

    static let english = EmailLabels(
        severity: [.critical: "CRITICAL", .high: "HIGH", .medium: "MEDIUM", .low: "LOW"],
        threat: [:],
        fields: [
            "country": "Country", "region": "Region", "threat": "Threat", "severity": "Severity", "urgency": "Urgency",
            "certainty": "Certainty", "defender": "Defender", "organisation": "Organisation", "role": "Role",
            "summary": "Summary", "occurred": "Occurred", "received": "Received", "source": "Filed by", "links": "Links",
            "case": "Case", "exercise": "EXERCISE — this is a drill, not a real event.", "update": "UPDATE",
            "cancel": "CANCELLED — this case was filed in error.", "replay": "REPLAY", "footer": "Sent by Vigil. Delivery",
            "notice_subject": "Vigil cannot reach your endpoint",
            "notice_body": "Vigil stopped sending to this endpoint after repeated failures and will try again later. Please check it:",
        ])
    static let french = EmailLabels(
        severity: [.critical: "CRITIQUE", .high: "ÉLEVÉE", .medium: "MOYENNE", .low: "FAIBLE"],
        threat: [
            .killing: "meurtre", .attemptedKilling: "tentative de meurtre", .disappearance: "disparition", .arrest: "arrestation",
            .detention: "détention", .physicalAttack: "agression physique", .judicialHarassment: "harcèlement judiciaire",
            .dismissal: "licenciement", .threat: "menace", .surveillance: "surveillance", .travelBan: "interdiction de voyager",
            .raid: "perquisition", .smearCampaign: "campagne de diffamation", .other: "autre",
        ],
        fields: [
            "country": "Pays", "region": "Région", "threat": "Menace", "severity": "Gravité", "urgency": "Urgence",
            "certainty": "Certitude", "defender": "Défenseur·e", "organisation": "Organisation", "role": "Rôle",
            "summary": "Résumé", "occurred": "Date des faits", "received": "Reçue", "source": "Signalée par", "links": "Liens",
            "case": "Dossier", "exercise": "EXERCICE — ceci est un exercice, pas un événement réel.", "update": "MISE À JOUR",
            "cancel": "ANNULÉE — ce dossier a été signalé par erreur.", "replay": "RENVOI", "footer": "Envoyé par Vigil. Livraison",
            "notice_subject": "Vigil ne parvient pas à joindre votre point de terminaison",
            "notice_body": "Vigil a cessé d'envoyer vers ce point de terminaison après des échecs répétés et réessaiera plus tard. Merci de le vérifier :",
        ])
    static let dutch = EmailLabels(
        severity: [.critical: "KRITIEK", .high: "HOOG", .medium: "GEMIDDELD", .low: "LAAG"],
        threat: [
            .killing: "moord", .attemptedKilling: "poging tot moord", .disappearance: "verdwijning", .arrest: "arrestatie",
            .detention: "detentie", .physicalAttack: "fysieke aanval", .judicialHarassment: "gerechtelijke intimidatie",
            .dismissal: "ontslag", .threat: "bedreiging", .surveillance: "surveillance", .travelBan: "reisverbod",
            .raid: "inval", .smearCampaign: "lastercampagne", .other: "overig",
        ],
        fields: [
            "country": "Land", "region": "Regio", "threat": "Dreiging", "severity": "Ernst", "urgency": "Urgentie",
            "certainty": "Zekerheid", "defender": "Verdediger", "organisation": "Organisatie", "role": "Rol",
            "summary": "Samenvatting", "occurred": "Gebeurd op", "received": "Ontvangen", "source": "Gemeld door", "links": "Links",
            "case": "Dossier", "exercise": "OEFENING — dit is een oefening, geen echte gebeurtenis.", "update": "UPDATE",
            "cancel": "GEANNULEERD — dit dossier werd per vergissing gemeld.", "replay": "HERZENDING", "footer": "Verzonden door Vigil. Levering",
            "notice_subject": "Vigil kan uw eindpunt niet bereiken",
            "notice_body": "Vigil stuurt niet langer naar dit eindpunt na herhaalde fouten en probeert het later opnieuw. Controleer het alstublieft:",
        ])
}
