import Foundation
import VigilCore

/// The select lists of the console's forms, labelled in the page's language: countries by
/// name (from the system's locale data), alert languages, and every vocabulary of the alert.
enum ConsoleVocabulary {
    /// Every ISO 3166-1 country Vigil knows, by name in each console language, sorted by name.
    static let countries: [ConsoleLanguage: [(value: String, label: String)]] = {
        var result: [ConsoleLanguage: [(value: String, label: String)]] = [:]
        for language in ConsoleLanguage.allCases {
            let locale = Locale(identifier: language.rawValue)
            result[language] = CountryCode.all.map { country in
                (country.code, locale.localizedString(forRegionCode: country.code) ?? country.name)
            }.sorted { $0.label.compare($1.label, locale: locale) == .orderedAscending }
        }
        return result
    }()

    /// The languages an alert is commonly written in.
    static let alertLanguages = ["en", "fr", "nl", "es", "ru", "de", "pt", "it", "pl", "uk", "be", "tr", "ar", "fa", "zh"]

    /// `alertLanguages` named in `language`.
    static func languages(in language: ConsoleLanguage) -> [(value: String, label: String)] {
        let locale = Locale(identifier: language.rawValue)
        return alertLanguages.map { ($0, locale.localizedString(forLanguageCode: $0) ?? $0) }
    }

    /// The name of `country` in `language`.
    static func countryName(_ country: CountryCode, in language: ConsoleLanguage) -> String {
        Locale(identifier: language.rawValue).localizedString(forRegionCode: country.code) ?? country.name
    }

    /// A vocabulary's words labelled through the catalogue (`threat.arrest`).
    static func options<V: Vocabulary>(_ type: V.Type, _ prefix: String, _ text: ConsoleText) -> [(value: String, label: String)]
    where V.RawValue == String {
        V.allCases.map { ($0.rawValue, text.word(prefix, $0.rawValue)) }
    }
}
