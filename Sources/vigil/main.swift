import Foundation
import VigilServer

/// `vigil`: the command line (DESIGN §10). Each command has --help, exits non-zero with a
/// one-line reason on failure, and prints JSON with --json where it prints data.
let commands: [any Command.Type] = [ServeCommand.self, AlertSendCommand.self, TailCommand.self, TokensCommand.self, UsersCommand.self, DevKafkaCommand.self, BenchCommand.self, SubscribersCommand.self, EraseCommand.self, AckCommand.self, CaseCommand.self, AuditCommand.self, ReplayCommand.self, KafkaInitCommand.self, BackupCommand.self, RestoreCommand.self, CheckCommand.self]

@MainActor func usage() -> String {
    var text = "usage: vigil <command> [flags]\n\ncommands:\n"
    for command in commands {
        text += "  " + command.path.joined(separator: " ").padding(toLength: 14, withPad: " ", startingAt: 0) + command.summary + "\n"
    }
    return text + "\nvigil <command> --help describes each."
}

let words = Array(CommandLine.arguments.dropFirst())
if words.isEmpty || words == ["--help"] || words == ["help"] || words == ["-h"] {
    print(usage())
    exit(words.isEmpty ? 2 : 0)
}
guard let command = commands.first(where: { Array(words.prefix($0.path.count)) == $0.path }) else {
    FileHandle.standardError.write(Data("vigil: unknown command '\(words.prefix(2).joined(separator: " "))'; run vigil --help\n".utf8))
    exit(2)
}
do {
    var arguments = try Arguments(words.dropFirst(command.path.count), switches: command.switches)
    if arguments.flag("help") || words.contains("-h") {
        print(command.help)
        exit(0)
    }
    try command.run(&arguments, environment: ProcessInfo.processInfo.environment)
} catch let error as UsageError {
    FileHandle.standardError.write(Data("vigil \(command.path.joined(separator: " ")): \(error.description) (see --help)\n".utf8))
    exit(2)
} catch {
    FileHandle.standardError.write(Data("vigil: \(String(describing: error))\n".utf8))
    exit(1)
}
