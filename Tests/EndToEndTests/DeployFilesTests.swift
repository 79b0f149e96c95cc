import Foundation
import Testing
import VigilTestSupport

/// The deploy files under deploy/ checked with the tools operators would use (issue 24): every
/// systemd unit passes `systemd-analyze verify` and scores an exposure of at most 2.0 in
/// `systemd-analyze security --offline=true`; every Kubernetes manifest validates in strict
/// mode against the schemas of `DeployFilesTests.kubernetesVersion` (kubernetes-validate,
/// offline). The files do not depend on the log, so only the embedded pass runs them.
@Suite(.serialized) struct DeployFilesTests {
    /// The Kubernetes version the manifests are validated against (kubernetes-validate ships
    /// its schemas; 1.35 to 1.37 pass too).
    static let kubernetesVersion = "1.34.0"
    /// The highest exposure `systemd-analyze security` may report for a unit.
    static let exposureCeiling = 2.0

    private static let deployDirectory = ((((#filePath as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent as NSString)
        .deletingLastPathComponent as NSString).appendingPathComponent("deploy")

    private static func files(in directory: String, ending suffix: String) throws -> [String] {
        let path = (deployDirectory as NSString).appendingPathComponent(directory)
        return try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(suffix) }.sorted().map { path + "/" + $0 }
    }

    /// `systemd-analyze` from PATH or /usr/bin (deploy/setup.sh installs Debian's systemd).
    private static var systemdAnalyze: String? {
        ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A copy of `unit` in a directory of its own whose `ExecStart` runs the built `vigil`:
    /// `systemd-analyze verify` requires the binary to exist.
    private static func copyWithBuiltBinary(_ unit: String) throws -> String {
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains("ExecStart=/usr/local/bin/vigil serve"), "\(unit) runs /usr/local/bin/vigil")
        let copy = TemporaryDirectory.make("vigil-units") + "/" + (unit as NSString).lastPathComponent
        try text.replacingOccurrences(of: "/usr/local/bin/vigil", with: ServiceProcess.binary).write(toFile: copy, atomically: true, encoding: .utf8)
        return copy
    }

    /// The overall exposure `systemd-analyze security --offline=true` reports for `unit`.
    private static func exposure(_ unit: String, analyze: String) throws -> Double? {
        let result = try VigilCommand.run(executable: analyze, ["security", "--offline=true", "--no-pager", unit], timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        // "→ Overall exposure level for vigil.service: 1.2 OK 🙂"
        guard let line = result.stdout.split(separator: "\n").first(where: { $0.contains("Overall exposure level for") }),
            let figure = line.split(separator: ":").last?.split(separator: " ").first
        else { return nil }
        return Double(figure)
    }

    @Test func everyUnitVerifiesAndScoresAtMostTwo() throws {
        guard EndToEndBackend.isEmbedded else { return }
        let analyze = try #require(Self.systemdAnalyze, "systemd-analyze is missing: deploy/setup.sh installs Debian's systemd package")
        let units = try Self.files(in: "systemd", ending: ".service")
        #expect(units.map { ($0 as NSString).lastPathComponent } == ["vigil-ingest.service", "vigil-router.service", "vigil-worker.service", "vigil.service"])
        for unit in units {
            let copy = try Self.copyWithBuiltBinary(unit)
            let verified = try VigilCommand.run(executable: analyze, ["verify", copy], timeout: 60)
            // verify warns about unknown keys and bad values but still exits 0: any output is a failure.
            #expect(verified.status == 0 && verified.stdout.isEmpty && verified.stderr.isEmpty, "\(unit): \(verified.stdout)\(verified.stderr)")
            let figure = try #require(try Self.exposure(copy, analyze: analyze), "no exposure figure for \(unit)")
            #expect(figure <= Self.exposureCeiling, "\(unit): exposure \(figure)")
            let text = try String(contentsOfFile: unit, encoding: .utf8)
            #expect(text.contains("systemd-analyze security --offline=true reports \(figure) for this unit"), "\(unit) states its figure, \(figure)")
            for setting in [
                "LoadCredential=master-key:/etc/vigil/master.key", "Environment=VIGIL_MASTER_KEY_FILE=%d/master-key", "MemoryDenyWriteExecute=yes",
                "SystemCallFilter=@system-service", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            ] {
                #expect(text.contains(setting), "\(unit) lacks \(setting)")
            }
            if unit.hasSuffix("vigil.service") { #expect(!text.contains("--role"), "the embedded unit runs every part") } else {
                #expect(text.contains("--role ") && text.contains("EnvironmentFile=/etc/vigil/kafka.env"), "\(unit)")
            }
        }
        // The figure is read, not assumed: a unit with no hardening scores far above the ceiling.
        let bare = TemporaryDirectory.make("vigil-units") + "/bare.service"
        try "[Service]\nExecStart=\(ServiceProcess.binary) serve\n".write(toFile: bare, atomically: true, encoding: .utf8)
        #expect(try #require(try Self.exposure(bare, analyze: analyze)) > 5)
        // And verify does speak up about a wrong key.
        let typo = TemporaryDirectory.make("vigil-units") + "/typo.service"
        try "[Service]\nExecStart=\(ServiceProcess.binary) serve\nProtectSystm=strict\n".write(toFile: typo, atomically: true, encoding: .utf8)
        let complaint = try VigilCommand.run(executable: analyze, ["verify", typo], timeout: 60)
        #expect(!(complaint.stdout + complaint.stderr).isEmpty)
    }

    @Test func everyKubernetesManifestValidatesStrictly() throws {
        guard EndToEndBackend.isEmbedded else { return }
        let manifests = try Self.files(in: "kubernetes", ending: ".yaml")
        #expect(manifests.map { ($0 as NSString).lastPathComponent } == ["embedded.yaml", "kafka.yaml", "master-key-secret.yaml"])
        let python = PythonHelper.executable
        let validate = (python == "/usr/bin/env" ? ["python3"] : []) + ["-m", "kubernetes_validate", "--strict", "--kubernetes-version", Self.kubernetesVersion]
        let result = try VigilCommand.run(executable: python, validate + manifests, timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let passed = result.stdout.split(separator: "\n").filter { $0.contains(" passed for resource ") }
        // Secret; Service, StatefulSet, NetworkPolicy; ConfigMap, Service, three Deployments, NetworkPolicy.
        #expect(passed.count == 10, "\(result.stdout)")
        for kind in ["statefulset/vigil", "deployment/vigil-ingest", "deployment/vigil-router", "deployment/vigil-worker", "secret/vigil-master-key"] {
            #expect(passed.contains { $0.contains("resource \(kind) ") }, "\(kind): \(result.stdout)")
        }
        // Strict mode is on: a field the schema does not know fails.
        let wrong = TemporaryDirectory.make("vigil-manifests") + "/wrong.yaml"
        let embedded = try String(contentsOfFile: manifests[0], encoding: .utf8)
        try embedded.replacingOccurrences(of: "readOnlyRootFilesystem: true", with: "readOnlyRootFilesystem: true\n            readOnlyRootFileSystem: true")
            .write(toFile: wrong, atomically: true, encoding: .utf8)
        let refused = try VigilCommand.run(executable: python, validate + [wrong], timeout: 120)
        #expect(refused.status != 0, "\(refused.stdout)")
    }
}
