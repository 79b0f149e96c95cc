/// Header fields in arrival order, looked up without regard to case.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    private var fields: [(name: String, value: String)] = []
    /// The names lower-cased once, when added, so lookups on the hot path do not lower-case
    /// every field again.
    private var lowered: [String] = []

    /// No fields.
    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { add(name, value) }
    }

    /// Appends a field, keeping any earlier one of the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append((name, value))
        lowered.append(name.lowercased())
    }

    /// Replaces every field named `name` with one field.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    /// Removes every field named `name`.
    public mutating func remove(_ name: String) {
        let lower = name.lowercased()
        for i in lowered.indices.reversed() where lowered[i] == lower {
            fields.remove(at: i)
            lowered.remove(at: i)
        }
    }

    /// The first value of `name`, or `nil`.
    public subscript(_ name: String) -> String? {
        let lower = name.lowercased()
        return lowered.firstIndex(of: lower).map { fields[$0].value }
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        let lower = name.lowercased()
        return lowered.indices.filter { lowered[$0] == lower }.map { fields[$0].value }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}
