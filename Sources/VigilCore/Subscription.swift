/// What a subscriber follows: countries (or every country), a minimum severity, and
/// optionally only some threats (DESIGN §6).
public struct Subscription: Sendable, Equatable, Codable, Hashable {
    /// The countries followed; empty together with `allCountries` means every country.
    public var countries: Set<CountryCode>
    /// `true` for `"countries": ["*"]`.
    public var allCountries: Bool
    /// Alerts below this severity are not sent.
    public var minSeverity: Severity
    /// When set, only these threats are sent.
    public var threats: Set<Threat>?
    /// When set, the alerts it matches below the schedule's severity are gathered into
    /// digests instead of sent one by one (issue 21).
    public var digest: DigestSchedule?

    enum CodingKeys: String, CodingKey {
        case countries
        case minSeverity = "min_severity"
        case threats
        case digest
    }

    /// A subscription to `countries` (or all of them) from `minSeverity` up.
    public init(
        countries: Set<CountryCode>, allCountries: Bool = false, minSeverity: Severity, threats: Set<Threat>? = nil, digest: DigestSchedule? = nil
    ) {
        self.countries = allCountries ? [] : countries
        self.allCountries = allCountries
        self.minSeverity = minSeverity
        self.threats = threats
        self.digest = digest
    }

    /// Whether `alert` falls under this subscription.
    public func matches(_ alert: Alert) -> Bool {
        (allCountries || countries.contains(alert.country)) && alert.severity >= minSeverity
            && (threats?.contains(alert.threat) ?? true)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let words = try c.decode([String].self, forKey: .countries)
        allCountries = words == ["*"]
        countries = allCountries ? [] : Set(try words.map { word in
            guard let code = CountryCode(word) else {
                throw DecodingError.dataCorruptedError(forKey: .countries, in: c, debugDescription: "'\(word)' is not a country code")
            }
            return code
        })
        minSeverity = try c.decode(Severity.self, forKey: .minSeverity)
        threats = try c.decodeIfPresent([Threat].self, forKey: .threats).map(Set.init)
        digest = try c.decodeIfPresent(DigestSchedule.self, forKey: .digest)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(allCountries ? ["*"] : countries.map(\.code).sorted(), forKey: .countries)
        try c.encode(minSeverity, forKey: .minSeverity)
        try c.encodeIfPresent(threats.map { $0.map(\.rawValue).sorted() }, forKey: .threats)
        try c.encodeIfPresent(digest, forKey: .digest)
    }
}
