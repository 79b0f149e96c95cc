/// The text both sides' alerts carry, of the size of a real summary.
enum ComparedAlert {
    /// The country every bench alert is about (each endpoint follows it).
    static let country = "GT"
    /// The summary, beside the key.
    static let summary = "A trade union leader was detained at home by plain-clothes officers late last night; the union has had no contact since."
}
