import Foundation
import Testing
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `Tests/AttackSuite/attack.py`: the raw-socket attack suite of issue 17.
let attackSuitePath = ((((#filePath as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent as NSString)
    .appendingPathComponent("AttackSuite") as NSString).appendingPathComponent("attack.py")

/// Strings of the suite's redaction probe that no log line may carry (the suite files them
/// as a defender's identity; `DefenderNames` covers the rest of the end-to-end suite).
let attackSuiteSecrets = ["Oktyabrskaya", "Lantern Legal Aid", "Okrestina", "Pervomaisky"]

/// Runs the attack suite against the real service, on either backend: request framing,
/// slow clients, authentication, JSON and field limits, SSRF literals, and a hostile
/// receiver probing redaction and erasure. Any failed probe fails the test with the suite's
/// output.
@Suite(.serialized) struct AttackSuiteEndToEndTests {
    /// The main target: no private webhooks (so the SSRF literals must be refused), and a
    /// short request deadline so the slow-client probes stay quick.
    static let targetEnvironment = ["VIGIL_ALLOW_PRIVATE_WEBHOOKS": "false", "VIGIL_REQUEST_TIMEOUT_SECONDS": "3"]
    /// The redaction target: webhooks may reach the hostile receiver on 127.0.0.1, and
    /// retries come quickly.
    static let redactionEnvironment = [
        "VIGIL_ALLOW_PRIVATE_WEBHOOKS": "true", "VIGIL_RETRY_BASE_MILLISECONDS": "40", "VIGIL_RETRY_CAP_SECONDS": "0.2",
        "VIGIL_WEBHOOK_TIMEOUT_SECONDS": "2",
    ]

    @Test func everyProbeOfTheAttackSuitePasses() async throws {
        let target = ServiceProcess()
        defer { target.kill(signal: SIGKILL) }
        try target.start(environment: Self.targetEnvironment)
        let redaction = ServiceProcess()
        defer { redaction.kill(signal: SIGKILL) }
        try redaction.start(environment: Self.redactionEnvironment)

        let reader = try issueToken(target, org: "attack-reader", scopes: "alerts:read", clearance: "restricted")
        let lowAdmin = try issueToken(target, org: "attack-desk", scopes: "subscribers:admin", clearance: "restricted")
        let redactionReader = try issueToken(redaction, org: "attack-reader", scopes: "alerts:read", clearance: "restricted")
        var arguments = [
            "-u", attackSuitePath,
            "--url", "http://127.0.0.1:\(target.port)", "--token", ServiceProcess.token,
            "--reader-token", reader.token, "--low-admin-token", lowAdmin.token, "--request-timeout", "3",
            "--redaction-url", "http://127.0.0.1:\(redaction.port)", "--redaction-reader-token", redactionReader.token,
        ]
        // On Kafka the log lives in topics; the data directory is only a cache.
        if !EndToEndBackend.isKafka { arguments += ["--redaction-data-dir", redaction.dataDir] }
        let python = PythonHelper.executable
        let run = try await VigilCommand.runDetached(executable: python, (python == "/usr/bin/env" ? ["python3"] : []) + arguments, timeout: 150)

        #expect(run.status == 0 && run.stdout.hasSuffix(" 0 failed\n"), "the attack suite failed:\n\(run.stdout)\(run.stderr)")
        #expect(target.terminationStatus == nil, "the main service died during the attack suite:\n\(Self.crashReport(target))")
        #expect(redaction.terminationStatus == nil, "the redaction service died during the attack suite:\n\(Self.crashReport(redaction))")
        for secret in attackSuiteSecrets {
            #expect(!target.logs.contains(secret) && !redaction.logs.contains(secret), "a log line carries '\(secret)'")
        }
    }

    /// The first lines a dead service wrote that are not its JSON log (the runtime's crash
    /// report), so a failure says where it trapped without pages of registers.
    static func crashReport(_ service: ServiceProcess) -> String {
        service.logs.split(separator: "\n").filter { !$0.hasPrefix("{") }.prefix(12).joined(separator: "\n")
    }

    /// The suite lists its probes and refuses an unknown one, so `--only` cannot silently
    /// run nothing.
    @Test func theSuiteListsItsProbesAndRefusesUnknownOnes() throws {
        let python = PythonHelper.executable
        let prefix = python == "/usr/bin/env" ? ["python3"] : []
        let list = try VigilCommand.run(executable: python, prefix + [attackSuitePath, "--list"], timeout: 30)
        #expect(list.status == 0)
        let names = list.stdout.split(separator: "\n").map(String.init)
        for group in ["framing_", "slow_", "auth_", "json_", "field_", "query_", "ssrf_", "redaction_", "final_"] {
            #expect(names.contains { $0.hasPrefix(group) }, "no \(group) probe")
        }
        let unknown = try VigilCommand.run(executable: python, prefix + [attackSuitePath, "--only", "no_such_probe"], timeout: 30)
        #expect(unknown.status == 2 && unknown.stderr.contains("no_such_probe"))
    }
}
