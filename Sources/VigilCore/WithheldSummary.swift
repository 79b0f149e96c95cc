/// The fixed text a reader below an alert's confidentiality gets in place of the summary
/// when the filer wrote no `summary_public`: the summary itself is never shown to them,
/// not even scrubbed.
public enum WithheldSummary {
    /// The text per language (the first subtag of a BCP 47 tag).
    public static let texts: [String: String] = [
        "en": "Summary withheld: this alert is above your clearance.",
        "fr": "Résumé non communiqué : cette alerte dépasse votre niveau d'habilitation.",
        "nl": "Samenvatting achtergehouden: deze melding gaat boven uw machtigingsniveau.",
        "es": "Resumen retenido: esta alerta supera su nivel de autorización.",
        "de": "Zusammenfassung zurückgehalten: diese Meldung übersteigt Ihre Freigabestufe.",
    ]

    /// The language actually used for `language`: its first subtag when translated,
    /// English otherwise.
    public static func language(for language: String) -> String {
        let primary = language.split(separator: "-").first.map { $0.lowercased() } ?? "en"
        return texts[primary] == nil ? "en" : primary
    }

    /// The withheld text in `language` (English for a language without a translation).
    public static func text(for language: String) -> String { texts[self.language(for: language)]! }

    /// Whether `summary` is the withheld text in some language, so a renderer can show it
    /// in its reader's language instead.
    public static func isWithheld(_ summary: String) -> Bool { texts.values.contains(summary) }
}
