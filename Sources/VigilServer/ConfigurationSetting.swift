import Foundation
import VigilCore

/// One setting of `VigilConfiguration`, declared once in `VigilConfiguration.settings`: its
/// key in the file, the `VIGIL_*` variable and the flag derived from that key, the property it
/// fills, how its value is read and checked, and the line `--help` and the README show.
/// Everything that reads or describes settings (the file, the environment, the flags of
/// `vigil serve`, validation, `--help`, the README's table) walks that one table.
public struct ConfigurationSetting: Sendable {
    /// The key in the configuration file, `snake_case` (`data_dir`).
    public let key: String
    /// How `vigil serve` takes it on the command line; `nil` when only the file and the
    /// variable can set it (secrets such as `master_key` stay out of the process list).
    public let flag: SettingFlag?
    /// What it means, for `--help` and the README (Markdown: code in backticks).
    public let meaning: String
    /// The default as the README and `--help` show it; `nil` when there is none.
    public let defaultText: String?
    /// The JSON type of its value in the file.
    public let kind: SettingKind
    /// The property of `VigilConfiguration` it fills.
    public let keyPath: PartialKeyPath<VigilConfiguration> & Sendable
    /// Converts a value from the file (or read from text by `kind`) and stores it.
    private let assign: @Sendable (inout VigilConfiguration, JSONValue) -> SettingProblem?
    /// What is wrong with the value a configuration holds, or `nil`.
    private let problem: @Sendable (VigilConfiguration) -> String?

    /// Declares the setting `key` that fills `keyPath`, read as `type` says; `check` returns
    /// what is wrong with a value (`must be …`, without the key), `nil` when it is right.
    /// `documentedDefault` replaces the default shown when the property's default is not the
    /// whole story (`master_key_file`: `<data_dir>/master.key`).
    init<Value: Sendable>(
        _ key: String, _ keyPath: WritableKeyPath<VigilConfiguration, Value> & Sendable, _ type: SettingType<Value>,
        flag: SettingFlag? = nil, documentedDefault: String? = nil, meaning: String,
        check: @escaping @Sendable (Value) -> String? = { _ in nil }
    ) {
        self.key = key
        self.flag = flag
        self.meaning = meaning
        self.kind = type.kind
        self.keyPath = keyPath
        defaultText = documentedDefault ?? type.show(VigilConfiguration()[keyPath: keyPath])
        assign = { configuration, json in
            switch type.read(json) {
            case .success(let value):
                configuration[keyPath: keyPath] = value
                return nil
            case .failure(let problem):
                return problem
            }
        }
        problem = { check($0[keyPath: keyPath]) }
    }

    /// The variable that overrides it: `VIGIL_` and the key in capitals (`VIGIL_DATA_DIR`).
    public var environmentVariable: String { "VIGIL_" + key.uppercased() }

    /// The name of its flag without the leading `--`: the key with dashes (`data-dir`).
    public var flagName: String { key.replacingOccurrences(of: "_", with: "-") }

    /// Stores the text of a variable or flag (`source` names it in an error) in `configuration`.
    func apply(text: String, source: String, to configuration: inout VigilConfiguration) throws(ConfigurationError) {
        try apply(kind.value(fromText: text, source: source), to: &configuration)
    }

    /// Stores a value from the file (or read from text) in `configuration`; the error names the key.
    func apply(_ value: JSONValue, to configuration: inout VigilConfiguration) throws(ConfigurationError) {
        if let problem = assign(&configuration, value) { throw .invalid(key: key, message: problem.message) }
    }

    /// Checks the value `configuration` holds; the error names the key.
    func check(_ configuration: VigilConfiguration) throws(ConfigurationError) {
        if let message = problem(configuration) { throw .invalid(key: key, message: message) }
    }
}

/// How `vigil serve` takes a setting on its command line. The flag's name is the key with
/// dashes (`data_dir` ↔ `--data-dir`).
public enum SettingFlag: Sendable, Equatable {
    /// `--name VALUE`; `placeholder` stands for the value in `--help` (`HOST:PORT`).
    case value(placeholder: String)
    /// `--name` alone, which sets the setting to true.
    case `switch`
}

/// The JSON type of a setting's value in the file, which also says how the text of its
/// variable or flag is read.
public enum SettingKind: Sendable {
    /// A JSON string; text is taken as it is.
    case string
    /// A JSON number; text must be one that `Double` reads (`2048`, `0.5`, `1e3`).
    case number
    /// JSON `true` or `false`; text `true`, `1`, `yes`, `false`, `0` or `no`, in any case.
    case boolean

    private static let booleans = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false]

    /// Reads the text of the variable or flag `source`; the error names `source`.
    func value(fromText text: String, source: String) throws(ConfigurationError) -> JSONValue {
        switch self {
        case .string:
            return .string(text)
        case .number:
            guard let number = Double(text) else { throw .invalid(key: source, message: "must be a number, got '\(text)'") }
            return .number(number)
        case .boolean:
            guard let flag = Self.booleans[text.lowercased()] else { throw .invalid(key: source, message: "must be true or false, got '\(text)'") }
            return .bool(flag)
        }
    }
}

/// What is wrong with one setting's value, said without its key (`has the wrong type: …`).
struct SettingProblem: Error {
    let message: String

    /// The value is not of the JSON type the setting takes.
    static func wrongType(expected: String, got value: JSONValue) -> SettingProblem {
        SettingProblem(message: "has the wrong type: expected \(expected), got \(value.typeName)")
    }
}

/// How a setting of type `Value` is read from its JSON value and shown as a default.
struct SettingType<Value: Sendable>: Sendable {
    /// The JSON type it takes in the file.
    let kind: SettingKind
    /// Converts a value (never `null`: that means "the default") or says what is wrong.
    let read: @Sendable (JSONValue) -> Result<Value, SettingProblem>
    /// The value as a default is shown; `nil` for none.
    let show: @Sendable (Value) -> String?

    /// A setting whose JSON value `take` returns as it is, or `nil` when it is not what
    /// `expected` says.
    static func taken(
        _ kind: SettingKind, expected: String, _ take: @escaping @Sendable (JSONValue) -> Value?, show: @escaping @Sendable (Value) -> String?
    ) -> SettingType {
        SettingType(kind: kind, read: { json in take(json).map { .success($0) } ?? .failure(.wrongType(expected: expected, got: json)) }, show: show)
    }

    /// A string setting whose text `parse` turns into a `Value` or refuses with a message.
    static func parsed(_ parse: @escaping @Sendable (String) -> Result<Value, SettingProblem>, show: @escaping @Sendable (Value) -> String?) -> SettingType {
        SettingType(
            kind: .string,
            read: { json in
                guard case .string(let text) = json else { return .failure(.wrongType(expected: "a string", got: json)) }
                return parse(text)
            },
            show: show)
    }
}

extension SettingType where Value == String {
    /// Any string.
    static var string: SettingType { .parsed({ .success($0) }, show: { $0 }) }
}

extension SettingType where Value == String? {
    /// A string or nothing (the default).
    static var optionalString: SettingType { .parsed({ .success($0) }, show: { $0 }) }
}

extension SettingType where Value == Bool {
    /// `true` or `false`.
    static var boolean: SettingType {
        .taken(.boolean, expected: "true or false", { if case .bool(let flag) = $0 { flag } else { nil } }, show: { String($0) })
    }
}

extension SettingType where Value == Double {
    /// Any number (its range is the setting's check).
    static var number: SettingType {
        .taken(
            .number, expected: "a number", { if case .number(let number) = $0 { number } else { nil } },
            show: { number in JSONValue.exactInt64(number).map { String($0) } ?? String(number) })
    }
}

extension SettingType where Value == Int {
    /// A whole number of magnitude at most 2^53 (its range is the setting's check).
    static var wholeNumber: SettingType {
        .taken(.number, expected: "a whole number", { $0.exactInt64.flatMap { Int(exactly: $0) } }, show: { String($0) })
    }
}
