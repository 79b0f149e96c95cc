import Foundation
import VigilCore
import VigilServer
import VigilStore

/// One `vigil` subcommand.
protocol Command {
    /// The words that select it, for example `["alert", "send"]`.
    static var path: [String] { get }
    /// One line for the command list.
    static var summary: String { get }
    /// The full `--help` text.
    static var help: String { get }
    /// Switches (flags without a value) it understands.
    static var switches: Set<String> { get }
    /// Runs with the remaining arguments; throws to exit non-zero with a one-line reason.
    static func run(_ arguments: inout Arguments, environment: [String: String]) throws
}

/// Prints `value` as one line of JSON.
func printJSON(_ value: some Encodable) throws {
    print(String(decoding: try VigilJSON.encode(value), as: UTF8.self))
}

/// Loads the configuration from `--config`, `VIGIL_*` and the flags of `settings` (those
/// that have one): `--name VALUE`, or `--name` alone for a switch, which means true.
func loadConfiguration(_ arguments: inout Arguments, environment: [String: String], flagsOf settings: [ConfigurationSetting]) throws -> VigilConfiguration {
    let file = arguments.value("config")
    var overrides: [String: String] = [:]
    for setting in settings {
        switch setting.flag {
        case .value?: if let value = arguments.value(setting.flagName) { overrides[setting.key] = value }
        case .switch?: if arguments.flag(setting.flagName) { overrides[setting.key] = "true" }
        case nil: continue
        }
    }
    return try VigilConfiguration.load(file: file, environment: environment, overrides: overrides)
}
