import Foundation
import VigilServer

/// `vigil serve`: runs the service until SIGTERM or SIGINT.
enum ServeCommand: Command {
    static let path = ["serve"]
    static let summary = "run the service (embedded SQLite log by default)"
    static let switches: Set<String> = ["allow-private-webhooks", "help"]
    static let help = """
        usage: vigil serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--log embedded|kafka://HOST:PORT,…]
                           [--role all|ingest|router|worker] [--smtp-url smtp://HOST:PORT]
                           [--bootstrap-token SECRET] [--allow-private-webhooks]

        Runs the whole pipeline in one process. With no flags it listens on 127.0.0.1:8080 and keeps
        everything in ./data/vigil.sqlite. On Kafka (--log kafka://…), --role runs one part: ingest
        (the HTTP API), router (the vigil-router group) or worker (the vigil-workers group); any
        number of each may run. Every flag overrides the key of the same name in the configuration
        file (default config/vigil.json when present) and its VIGIL_* variable: VIGIL_LISTEN,
        VIGIL_DATA_DIR, VIGIL_LOG, VIGIL_ROLE, VIGIL_SMTP_URL, VIGIL_BOOTSTRAP_TOKEN,
        VIGIL_ALLOW_PRIVATE_WEBHOOKS. SIGTERM or SIGINT stops it after in-flight work finishes.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let flags = [
            "listen": "listen", "data-dir": "data_dir", "log": "log", "smtp-url": "smtp_url",
            "bootstrap-token": "bootstrap_token", "role": "role",
        ]
        var configuration = try loadConfiguration(&arguments, environment: environment, flags: flags)
        if arguments.flag("allow-private-webhooks") { configuration.allowPrivateWebhooks = true }
        try arguments.finish()
        // On a full file system or a file-size limit, writes must fail with an error the store
        // reports (and ingest answers 503), not kill the process with SIGXFSZ.
        signal(SIGXFSZ, SIG_IGN)
        let service = try VigilService(configuration: configuration)
        try service.runUntilSignalled()
    }
}
