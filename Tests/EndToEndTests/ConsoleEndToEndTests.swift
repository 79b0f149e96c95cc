import Foundation
import Testing
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `Tests/ConsoleBrowser/console_browser.py`: the console walked in headless Chromium (issue 20).
let consoleBrowserPath = ((((#filePath as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent as NSString)
    .appendingPathComponent("ConsoleBrowser") as NSString).appendingPathComponent("console_browser.py")

/// What `vigil users invite --json` prints that the browser needs: the link.
struct PrintedInvitation: Decodable {
    let url: String
}

/// The console in a real browser against the real service, on either backend
/// (`VIGIL_E2E_LOG=kafka` runs it on Kafka): invitations made with `vigil users invite`, then
/// the script's walk through every role's pages; the script's output is the failure message.
@Suite(.serialized) struct ConsoleEndToEndTests {
    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"
    /// Strings the walk types that no log line of the service may carry: the defenders' names
    /// of its filings and the accounts' password.
    static let secrets = ["Halina Krasnapolskaya", "Yuras Bialiatsky-Nieborski", "correct horse battery staple"]

    /// The browser binaries that are not installed.
    static var missingBrowser: [String] { [chromium, chromedriver].filter { !FileManager.default.isExecutableFile(atPath: $0) } }
    /// Outside CI a machine without Chromium skips the test; in CI (where setup installs it) it runs and fails.
    static var runnable: Bool { missingBrowser.isEmpty || ProcessInfo.processInfo.environment["CI"] != nil }

    /// Every role's pages in headless Chromium, as the script walks them; then the service is
    /// alive, and neither its log nor (on the embedded backend) its files hold the walk's
    /// defender names or password in clear: the console files through the API's own sealing.
    @Test(
        .enabled(if: runnable, "Chromium or its driver is missing (/usr/bin/chromium, /usr/bin/chromedriver): deploy/setup.sh installs them"),
        .timeLimit(.minutes(5)))
    func everyRoleWalksTheConsoleInHeadlessChromium() async throws {
        try #require(Self.missingBrowser.isEmpty, "CI must have \(Self.missingBrowser.joined(separator: " and ")): deploy/setup.sh installs chromium and chromium-driver")
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: ["VIGIL_ALLOW_PRIVATE_WEBHOOKS": "true"])

        // The desk's subscriber: its webhook goes to a closed loopback port, so its deliveries fail.
        let body = deskBody(organisation: "eu-desk", url: "http://127.0.0.1:9/hook", kind: "diplomatic_desk")
        let created = try BlockingHTTPClient(port: service.port).request("POST", "/v1/subscribers", body: body, headers: auth)
        try #require(created.status == 201, "\(created.text)")
        let subscriber = try JSONDecoder().decode(CreatedSubscriber.self, from: Data(created.body)).id

        let people: [(role: String, extra: [String])] = [
            ("admin", ["--org", "vigil-operators"]), ("partner", ["--org", "minsk-union"]),
            ("desk", ["--org", "eu-desk", "--clearance", "restricted", "--subscriber", subscriber]), ("operator", ["--org", "vigil-operators"]),
        ]
        let screenshots = Self.screenshots
        var arguments = [
            "-u", consoleBrowserPath, "--url", "http://127.0.0.1:\(service.port)", "--api-token", ServiceProcess.token,
            "--subscriber-id", subscriber, "--screenshots", screenshots,
        ]
        for person in people {
            let email = "\(person.role)@console.test"
            let invite = try VigilCommand.run(
                ["users", "invite", "--email", email, "--role", person.role] + person.extra + ["--json"],
                environment: service.commandEnvironment.merging(["VIGIL_PUBLIC_URL": "http://127.0.0.1:\(service.port)"]) { $1 })
            try #require(invite.status == 0, "vigil users invite --role \(person.role) failed: \(invite.stderr)\(invite.stdout)")
            let link = try JSONDecoder().decode(PrintedInvitation.self, from: Data(invite.stdout.utf8)).url
            // On Kafka the service learns of the invitation from vigil.accounts: wait until its page opens (a GET uses nothing).
            let path = try #require(URL(string: link)).path
            #expect(try eventually(10) { try BlockingHTTPClient(port: service.port).request("GET", path).status == 200 },
                    "the \(person.role)'s invitation \(path) did not open")
            arguments += ["--\(person.role)-invite", link, "--\(person.role)-email", email]
        }

        let python = PythonHelper.executable
        let run = try await VigilCommand.runDetached(executable: python, (python == "/usr/bin/env" ? ["python3"] : []) + arguments, timeout: 200)
        let kept = ProcessInfo.processInfo.environment["VIGIL_CONSOLE_SCREENSHOTS"] == nil ? "set VIGIL_CONSOLE_SCREENSHOTS=DIR to keep the screenshots" : "screenshots in \(screenshots)"
        #expect(run.status == 0 && run.stdout.hasSuffix(" 0 failed\n"), "the console's browser walk failed (\(kept)):\n\(run.stdout)\(run.stderr.suffix(3000))")
        // The page-weight figure the README reports: the largest console page with its assets.
        if let weight = run.stdout.split(separator: "\n").first(where: { $0.hasPrefix("ok page-weight") }) { print(weight) }
        #expect(service.terminationStatus == nil, "the service died during the walk:\n\(AttackSuiteEndToEndTests.crashReport(service))")
        service.kill(signal: SIGTERM)  // the files are read once the service has let go of them
        let stored = EndToEndBackend.isEmbedded ? rawDataDirectory(service.dataDir) : ""
        for secret in Self.secrets {
            #expect(!service.logs.contains(secret), "a log line of vigil serve carries '\(secret)'")
            #expect(!stored.contains(secret), "the data directory holds '\(secret)' in clear")
        }
    }

    /// Where the screenshots go: `VIGIL_CONSOLE_SCREENSHOTS` to keep them, else a temporary
    /// directory removed when the tests end.
    static var screenshots: String {
        if let kept = ProcessInfo.processInfo.environment["VIGIL_CONSOLE_SCREENSHOTS"] {
            try? FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
            return kept
        }
        return TemporaryDirectory.make("vigil-console-screenshots")
    }
}
