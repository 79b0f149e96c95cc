import Testing
import VigilStore
@testable import VigilServer

/// Issue 17's bounds on what the service assembly owns: settings and token minting.
@Suite struct ServiceHardeningTests {
    @Test func settingsThatLaterBecomeWholeNumbersAreBounded() {
        #expect(throws: ConfigurationError.self) { try VigilConfiguration.load(file: nil, environment: ["VIGIL_BREAKER_THRESHOLD": "1e30"]) }
        #expect(throws: ConfigurationError.self) { try VigilConfiguration.load(file: nil, environment: ["VIGIL_WORKER_CONCURRENCY": "1e300"]) }
        #expect(throws: ConfigurationError.self) { try VigilConfiguration.load(file: nil, environment: ["VIGIL_METRICS_TOKEN": "short"]) }
        #expect((try? VigilConfiguration.load(file: nil, environment: ["VIGIL_METRICS_TOKEN": "scrape-secret-0123456789"]))?.metricsToken == "scrape-secret-0123456789")
    }

    @Test func aTokenMintsOnlyAtOrBelowItsOwnRights() {
        let issuer = TokenRecord(id: "tok", organisation: "o", scopes: [.alertsRead, .alertsWrite], clearance: .restricted, createdAt: .now())
        #expect(TokenAdministration.refusal(issuer: issuer, scopes: [.alertsRead], clearance: .confidential) == .clearanceAboveIssuer(requested: .confidential, issuer: .restricted))
        #expect(TokenAdministration.refusal(issuer: issuer, scopes: [.subscribersAdmin], clearance: .public) == .scopesBeyondIssuer(["subscribers:admin"]))
        #expect(TokenAdministration.refusal(issuer: issuer, scopes: [.alertsRead], clearance: .restricted) == nil)
    }
}
