/// A mistake in how a command was called; printed with a pointer to `--help`.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Command-line flags: `--name value`, `--name=value`, and switches such as `--json`.
/// Every flag must be used by the command, so a typo is an error rather than ignored.
struct Arguments {
    private(set) var positional: [String] = []
    private var values: [String: [String]] = [:]
    private var switches: Set<String> = []

    init(_ arguments: some Sequence<String>, switches known: Set<String>) throws(UsageError) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard argument.hasPrefix("--"), argument.count > 2 else {
                positional.append(argument)
                continue
            }
            let body = argument.dropFirst(2)
            if let equals = body.firstIndex(of: "=") {
                values[String(body[..<equals]), default: []].append(String(body[body.index(after: equals)...]))
            } else if known.contains(String(body)) {
                switches.insert(String(body))
            } else if let value = iterator.next() {
                values[String(body), default: []].append(value)
            } else {
                throw UsageError("--\(body) needs a value")
            }
        }
    }

    /// Whether the switch `--name` was given.
    mutating func flag(_ name: String) -> Bool { switches.remove(name) != nil }

    /// The value of `--name`, once.
    mutating func value(_ name: String) -> String? { values.removeValue(forKey: name)?.last }

    /// Every value of a repeatable `--name`.
    mutating func all(_ name: String) -> [String] { values.removeValue(forKey: name) ?? [] }

    /// Fails on any flag the command did not read.
    func finish() throws(UsageError) {
        if let unknown = (Array(values.keys) + Array(switches)).sorted().first {
            throw UsageError("unknown flag --\(unknown)")
        }
    }
}
