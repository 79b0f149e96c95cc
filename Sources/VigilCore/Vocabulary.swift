/// A closed set of lower-case words that Vigil accepts in a JSON field.
///
/// Every enum of the alert and subscriber vocabulary conforms, so validation can name the
/// allowed values in its messages without repeating them by hand.
public protocol Vocabulary: RawRepresentable, CaseIterable, Codable, Sendable, Hashable
where RawValue == String {}

extension Vocabulary {
    /// The allowed words, in declaration order, for error messages.
    public static var allowedWords: String {
        allCases.map(\.rawValue).joined(separator: ", ")
    }
}
