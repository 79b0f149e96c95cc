import Foundation
import Testing
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The API contract against the real service (issue 24): `GET /openapi.json` validates with
/// `openapi-spec-validator`, and schemathesis, with every check, a fixed seed and a bounded
/// number of examples per operation, finds no server error, no response that breaks its
/// schema and no undocumented status code.
@Suite(.serialized) struct OpenAPIEndToEndTests {
    /// Examples per operation on each backend; the coverage phase adds its own boundary cases.
    static let examples = EndToEndBackend.isKafka ? 5 : 10
    static let seed = 24

    /// Lifts what would turn the run into a wall of `429`s (the token's rate limit, and the
    /// per-address throttle its probes of missing and wrong tokens would trip), and lets
    /// subscribers with webhooks on private addresses be created.
    static let environment = [
        "VIGIL_RATE_LIMIT_PER_SECOND": "1000000", "VIGIL_RATE_LIMIT_BURST": "1000000", "VIGIL_AUTH_FAILURE_LIMIT": "1000000",
        "VIGIL_ALLOW_PRIVATE_WEBHOOKS": "true",
    ]

    /// schemathesis' settings beyond the command line. `positive_data_acceptance` also accepts
    /// `400`/`422` (and `411`): a JSON Schema states each field's shape, but not the rules the
    /// server checks across fields or against what it stores (an update's case must exist, a
    /// subscriber must have received the alert it acknowledges, a CAP document's content), and
    /// the fuzzer's HTTP client sends some form bodies chunked. A long poll waits 0.2 s, not up
    /// to the 30 s the contract allows, to keep the run short.
    static let configuration = """
        [checks.positive_data_acceptance]
        expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "411", "422", "429"]

        [[operations]]
        include-name = "GET /v1/alerts"
        parameters = { "wait" = 0.2 }
        """

    @Test(.timeLimit(.minutes(5))) func theContractValidatesAndSchemathesisFindsNoBreach() async throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: Self.environment)
        let directory = TemporaryDirectory.make("vigil-openapi")
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // The document, without a token, validated as OpenAPI 3.1.
        let client = try BlockingHTTPClient(port: service.port)
        let contract = try client.request("GET", "/openapi.json")
        #expect(contract.status == 200 && contract.headers["content-type"] == "application/json")
        let document = (directory as NSString).appendingPathComponent("openapi.json")
        try Data(contract.body).write(to: URL(fileURLWithPath: document))
        let python = PythonHelper.executable
        let prefix = python == "/usr/bin/env" ? ["python3"] : []
        let validation = try VigilCommand.run(executable: python, prefix + ["-m", "openapi_spec_validator", document], timeout: 60)
        #expect(validation.status == 0 && validation.stdout.contains("OK"), "openapi-spec-validator: \(validation.stdout)\(validation.stderr)")

        // schemathesis against the live service, from the scratch directory (its caches stay there).
        let configuration = (directory as NSString).appendingPathComponent("schemathesis.toml")
        try Self.configuration.write(toFile: configuration, atomically: true, encoding: .utf8)
        let st = python == "/usr/bin/env" ? "st" : ((python as NSString).deletingLastPathComponent as NSString).appendingPathComponent("st")
        let arguments = [
            "--config-file", configuration, "--no-color", "run", "http://127.0.0.1:\(service.port)/openapi.json",
            "--checks", "all", "--seed", String(Self.seed), "--max-examples", String(Self.examples), "--workers", "1",
            "--generation-database", "none", "--request-timeout", "10",
            "-H", "Authorization: Bearer \(ServiceProcess.token)",
        ]
        let started = Date()
        let run = try await VigilCommand.runDetached(
            executable: "/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory] + (st == "st" ? ["/usr/bin/env", "st"] : [st]) + arguments,
            timeout: 240)
        let summary = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).suffix(120).joined(separator: "\n")
        #expect(run.status == 0, "schemathesis found a breach of the contract (exit \(run.status)):\n\(summary)\n\(run.stderr.suffix(4000))")
        #expect(run.stdout.contains("Tested: 29") || run.stdout.contains("Tested: 30"), "schemathesis did not test every operation:\n\(summary)")
        #expect(service.terminationStatus == nil, "the service died during the run:\n\(service.logs.suffix(4000))")
        print("schemathesis: \(Int(Date().timeIntervalSince(started))) s, \(Self.examples) examples per operation, seed \(Self.seed)")
    }
}
