import Foundation
import VigilHTTPClient
import VigilObservability

/// Vigil's side of an Alertmanager comparison as a process of its own, as Alertmanager is:
/// `vigil serve` (this binary) on a fresh data directory, one subscriber per webhook endpoint
/// made over the API. `vigil bench loaded` measures it, so its resident memory is the
/// service's alone, without the bench's load generator.
/// `@unchecked Sendable`: started and stopped from one thread; the filing threads read only `port`, fixed once started.
final class ComparedVigilProcess: ComparedSide, @unchecked Sendable {
    let name = "vigil"
    var port: Int { process.port }
    private let process: ServeProcess

    /// Starts `executable serve` whose subscribers each get every bench alert at one of `webhooks`.
    init(executable: String, webhooks: [String]) throws {
        let dataDir = ScratchStore.directory()
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        process = ServeProcess(
            executable: executable, role: "serve", dataDir: dataDir,
            environment: [
                "VIGIL_BOOTSTRAP_TOKEN": ComparedVigil.token, "VIGIL_ALLOW_PRIVATE_WEBHOOKS": "true",
                // The load generator files with one token; per-token rate limits are not what is measured.
                "VIGIL_RATE_LIMIT_PER_SECOND": "1000000000", "VIGIL_RATE_LIMIT_BURST": "1000000000",
            ])
        do {
            try process.start()
            let client = try BlockingHTTPClient(port: process.port, timeout: 30)
            for (n, url) in webhooks.enumerated() {
                let response = try client.request(
                    "POST", "/v1/subscribers", body: ComparedVigil.subscriber(n, url: url),
                    headers: ["Authorization": "Bearer \(ComparedVigil.token)", "Content-Type": "application/json"])
                guard response.status == 201 else { throw ComparisonFailure.refused(side: name, status: response.status, answer: response.text) }
            }
        } catch {
            stop()
            throw error
        }
    }

    /// The `vigil serve` process's own.
    var residentBytes: Double { process.pid.map { ProcessMemory.residentBytes(of: $0) } ?? 0 }

    func file(_ keys: [String], on client: BlockingHTTPClient) throws -> Int { try ComparedVigil.file(keys, on: client, side: name) }

    func stop() {
        process.kill()
        try? FileManager.default.removeItem(atPath: process.dataDir)
    }
}
