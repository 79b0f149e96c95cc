import VigilCore

/// The words of an alert email in the subscriber's language: English, French and Dutch;
/// Spanish and German for the handling instructions and follow-ups (issue 19); English for
/// anything else.
public struct EmailLabels: Sendable {
    let severity: [Severity: String]
    let threat: [Threat: String]
    let fields: [String: String]

    /// The labels for `language` (a BCP 47 tag; only its first subtag counts).
    public static func forLanguage(_ language: String) -> EmailLabels {
        switch language.split(separator: "-").first.map({ $0.lowercased() }) {
        case "fr": french
        case "nl": dutch
        case "es": spanish
        case "de": german
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
            "handling": "Handling instructions", "no_public_statement": "No public statement about the defender.",
            "no_contact_with_authorities": "No contact with the authorities about the defender.",
            "no_contact_with_defender": "No contact with the defender.", "excluded": "Not to be shared with",
            "handling_note": "Note from the filer", "acknowledge": "Acknowledge this alert",
            "escalated_prefix": "ESCALATED", "reminder_prefix": "REMINDER", "case_reminder_prefix": "CASE REMINDER",
            "acknowledged_prefix": "ACKNOWLEDGED",
            "escalated_from": "Escalated: not acknowledged in time by", "reminder_body": "Reminder: this alert has not been acknowledged yet.",
            "case_reminder_body": "Reminder: the next event of this case is near.", "acknowledged_by": "Acknowledged by",
            "action": "Action", "note": "Note", "case_status": "Case status", "next_event": "Next event",
            "digest_prefix": "DIGEST", "digest_alerts": "alerts", "digest_alert": "alert", "digest_intro": "Alerts gathered for you from",
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
            "handling": "Consignes de traitement", "no_public_statement": "Aucune déclaration publique au sujet du/de la défenseur·e.",
            "no_contact_with_authorities": "Aucun contact avec les autorités au sujet du/de la défenseur·e.",
            "no_contact_with_defender": "Aucun contact avec le/la défenseur·e.", "excluded": "À ne pas partager avec",
            "handling_note": "Note de l'organisation qui signale", "acknowledge": "Accuser réception de cette alerte",
            "escalated_prefix": "ESCALADE", "reminder_prefix": "RAPPEL", "case_reminder_prefix": "RAPPEL DOSSIER",
            "acknowledged_prefix": "ACCUSÉ DE RÉCEPTION",
            "escalated_from": "Escalade : pas d'accusé de réception à temps de",
            "reminder_body": "Rappel : cette alerte n'a pas encore fait l'objet d'un accusé de réception.",
            "case_reminder_body": "Rappel : la prochaine échéance de ce dossier approche.", "acknowledged_by": "Accusé de réception par",
            "action": "Action", "note": "Note", "case_status": "Statut du dossier", "next_event": "Prochaine échéance",
            "digest_prefix": "SYNTHÈSE", "digest_alerts": "alertes", "digest_alert": "alerte", "digest_intro": "Alertes regroupées pour vous sur la période",
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
            "handling": "Behandelingsinstructies", "no_public_statement": "Geen publieke verklaring over de verdediger.",
            "no_contact_with_authorities": "Geen contact met de autoriteiten over de verdediger.",
            "no_contact_with_defender": "Geen contact met de verdediger.", "excluded": "Niet te delen met",
            "handling_note": "Opmerking van de melder", "acknowledge": "Deze melding bevestigen",
            "escalated_prefix": "ESCALATIE", "reminder_prefix": "HERINNERING", "case_reminder_prefix": "DOSSIERHERINNERING",
            "acknowledged_prefix": "BEVESTIGD",
            "escalated_from": "Geëscaleerd: niet op tijd bevestigd door", "reminder_body": "Herinnering: deze melding is nog niet bevestigd.",
            "case_reminder_body": "Herinnering: de volgende stap in dit dossier nadert.", "acknowledged_by": "Bevestigd door",
            "action": "Actie", "note": "Opmerking", "case_status": "Dossierstatus", "next_event": "Volgende gebeurtenis",
            "digest_prefix": "OVERZICHT", "digest_alerts": "meldingen", "digest_alert": "melding", "digest_intro": "Voor u verzamelde meldingen over de periode",
        ])
    /// Spanish and German have the handling instructions, the follow-ups' words, the
    /// acknowledgement link and a digest's subject and introduction translated; their other
    /// labels are still English. Subject prefixes: `[ESCALADO]` / `[RECORDATORIO]` /
    /// `[RESUMEN]` and `[ESKALIERT]` / `[ERINNERUNG]` / `[ZUSAMMENFASSUNG]`.
    static let spanish = EmailLabels(
        severity: [:], threat: [:],
        fields: [
            "handling": "Instrucciones de manejo", "no_public_statement": "Ninguna declaración pública sobre la persona defensora.",
            "no_contact_with_authorities": "Ningún contacto con las autoridades sobre la persona defensora.",
            "no_contact_with_defender": "Ningún contacto con la persona defensora.", "excluded": "No compartir con",
            "handling_note": "Nota de quien alerta", "acknowledge": "Acusar recibo de esta alerta",
            "escalated_prefix": "ESCALADO", "reminder_prefix": "RECORDATORIO", "case_reminder_prefix": "RECORDATORIO DEL CASO",
            "acknowledged_prefix": "RECIBO CONFIRMADO",
            "escalated_from": "Escalado: sin acuse de recibo a tiempo de", "reminder_body": "Recordatorio: aún no se ha acusado recibo de esta alerta.",
            "case_reminder_body": "Recordatorio: se acerca la próxima etapa de este caso.", "acknowledged_by": "Recibo confirmado por",
            "action": "Acción", "note": "Nota", "case_status": "Estado del caso", "next_event": "Próxima etapa",
            "digest_prefix": "RESUMEN", "digest_alerts": "alertas", "digest_alert": "alerta", "digest_intro": "Alertas reunidas para usted en el periodo",
        ])
    static let german = EmailLabels(
        severity: [:], threat: [:],
        fields: [
            "handling": "Hinweise zum Umgang", "no_public_statement": "Keine öffentliche Stellungnahme zur betroffenen Person.",
            "no_contact_with_authorities": "Kein Kontakt mit den Behörden zur betroffenen Person.",
            "no_contact_with_defender": "Kein Kontakt mit der betroffenen Person.", "excluded": "Nicht weitergeben an",
            "handling_note": "Hinweis der meldenden Organisation", "acknowledge": "Empfang dieser Meldung bestätigen",
            "escalated_prefix": "ESKALIERT", "reminder_prefix": "ERINNERUNG", "case_reminder_prefix": "FALLERINNERUNG",
            "acknowledged_prefix": "BESTÄTIGT",
            "escalated_from": "Eskaliert: nicht rechtzeitig bestätigt von", "reminder_body": "Erinnerung: der Empfang dieser Meldung wurde noch nicht bestätigt.",
            "case_reminder_body": "Erinnerung: der nächste Termin in diesem Fall steht bevor.", "acknowledged_by": "Bestätigt von",
            "action": "Maßnahme", "note": "Notiz", "case_status": "Fallstatus", "next_event": "Nächster Termin",
            "digest_prefix": "ZUSAMMENFASSUNG", "digest_alerts": "Meldungen", "digest_alert": "Meldung", "digest_intro": "Für Sie gesammelte Meldungen im Zeitraum",
        ])
}
