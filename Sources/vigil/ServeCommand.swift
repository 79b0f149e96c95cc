import Foundation
import VigilServer

/// `vigil serve`: runs the service until SIGTERM or SIGINT.
enum ServeCommand: Command {
    static let path = ["serve"]
    static let summary = "run the service (embedded SQLite log by default)"
    static let switches: Set<String> = Set(VigilConfiguration.settings.filter { $0.flag == .switch }.map(\.flagName) + ["help"])
    static let help = """
        \(usage(["[--config FILE]"] + VigilConfiguration.flagUsages))

        Runs the whole pipeline in one process. With no flags it listens on \(VigilConfiguration().listen) and keeps
        everything in \(VigilConfiguration().storePath). On Kafka (--log kafka://…), --role runs one part: ingest
        (the HTTP API), router (the vigil-router group) or worker (the vigil-workers group); any
        number of each may run. SIGTERM or SIGINT stops it after in-flight work finishes.

        Settings: each is a key of the configuration file (--config FILE, default config/vigil.json
        when present; keys starting with _ are comments), overridden by its VIGIL_* variable, and
        that by its flag where it has one. A wrong value or an unknown key stops the start with a
        message naming the key.

        \(VigilConfiguration.settingsHelp())
        """

    /// `usage: vigil serve` and `items`, wrapped under one another at 100 columns.
    private static func usage(_ items: [String]) -> String {
        let lead = "usage: vigil serve"
        var lines = [lead]
        for item in items {
            if lines[lines.count - 1].count + 1 + item.count > 100 { lines.append(String(repeating: " ", count: lead.count)) }
            lines[lines.count - 1] += " " + item
        }
        return lines.joined(separator: "\n")
    }

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let configuration = try loadConfiguration(&arguments, environment: environment, flagsOf: VigilConfiguration.settings)
        try arguments.finish()
        // On a full file system or a file-size limit, writes must fail with an error the store
        // reports (and ingest answers 503), not kill the process with SIGXFSZ.
        signal(SIGXFSZ, SIG_IGN)
        let service = try VigilService(configuration: configuration)
        try service.runUntilSignalled()
    }
}
