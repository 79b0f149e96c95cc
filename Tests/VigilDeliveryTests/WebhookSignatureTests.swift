import Foundation
import Testing
import VigilCore
import VigilDelivery
import VigilTestSupport

/// Verifies with the `standardwebhooks` package from PyPI, an implementation we did not write.
let verifier = """
import json, sys
from standardwebhooks.webhooks import Webhook
case = json.load(sys.stdin)
headers = {"webhook-id": case["id"], "webhook-timestamp": str(case["timestamp"]), "webhook-signature": case["signature"]}
for secret in case["secrets"]:
    Webhook(secret).verify(case["body"].encode(), headers)
print("verified")
"""

func verify(id: String, timestamp: Int64, body: String, signature: String, secrets: [String]) throws -> Bool {
    struct Case: Encodable { let id: String; let timestamp: Int64; let body: String; let signature: String; let secrets: [String] }
    let input = String(decoding: try JSONEncoder().encode(Case(id: id, timestamp: timestamp, body: body, signature: signature, secrets: secrets)), as: UTF8.self)
    let result = try PythonHelper.run(verifier, stdin: input)
    return result.status == 0 && result.stdout.contains("verified")
}

@Suite struct WebhookSignatureTests {
    @Test func anIndependentStandardWebhooksVerifierAcceptsOurSignature() throws {
        let secret = WebhookSecret.generate()
        let body = #"{"id":"01M825CFCJ7PXX86Y361FVVH2B","summary":"arrested — détenu"}"#
        let now = Timestamp.now().unixSeconds
        let signature = WebhookSignature.header(id: "dlv_1", timestamp: now, body: Array(body.utf8), secrets: [secret])
        #expect(signature.hasPrefix("v1,"))
        #expect(try verify(id: "dlv_1", timestamp: now, body: body, signature: signature, secrets: [secret.description]))
    }

    @Test func duringRotationBothSecretsVerify() throws {
        let current = WebhookSecret.generate(), previous = WebhookSecret.generate()
        let now = Timestamp.now().unixSeconds
        let signature = WebhookSignature.header(id: "dlv_2", timestamp: now, body: Array("{}".utf8), secrets: [current, previous])
        #expect(signature.split(separator: " ").count == 2)
        #expect(try verify(id: "dlv_2", timestamp: now, body: "{}", signature: signature, secrets: [current.description, previous.description]))
    }

    @Test func theVerifierRejectsATamperedBody() throws {
        let secret = WebhookSecret.generate()
        let now = Timestamp.now().unixSeconds
        let signature = WebhookSignature.header(id: "dlv_3", timestamp: now, body: Array("{\"a\":1}".utf8), secrets: [secret])
        #expect(try !verify(id: "dlv_3", timestamp: now, body: "{\"a\":2}", signature: signature, secrets: [secret.description]))
    }

    @Test func secretsAreWhsecWithAtLeast24Bytes() {
        let secret = WebhookSecret.generate()
        #expect(secret.description.hasPrefix("whsec_") && secret.key.count == 32)
        #expect(WebhookSecret(secret.description) == secret)
        #expect(WebhookSecret("whsec_" + Data(repeating: 1, count: 16).base64EncodedString()) == nil)
        #expect(WebhookSecret("secret") == nil)
    }
}

@Suite struct RetryPolicyTests {
    @Test func backoffIsJitteredWithinAGrowingCappedCeiling() {
        let policy = RetryPolicy(baseMilliseconds: 100, capMilliseconds: 1000, budgetMilliseconds: 10_000)
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...12 {
            let ceiling = min(1000, 100 << Int64(attempt - 1))
            let delays = (0..<200).map { _ in policy.delay(afterAttempt: attempt, using: &generator) }
            #expect(delays.allSatisfy { $0 >= 0 && $0 <= ceiling })
            #expect(Set(delays).count > 1, "full jitter spreads the retries")
        }
    }

    @Test func retryAfterIsAFloor() {
        var generator = SystemRandomNumberGenerator()
        #expect(RetryPolicy.standard.delay(afterAttempt: 1, retryAfterMilliseconds: 120_000, using: &generator) >= 120_000)
    }

    @Test func theBudgetBoundsRetries() {
        let policy = RetryPolicy(baseMilliseconds: 100, capMilliseconds: 1000, budgetMilliseconds: 10_000)
        #expect(policy.allows(nextAttemptAt: 10_000, firstAttemptAt: 0))
        #expect(!policy.allows(nextAttemptAt: 10_001, firstAttemptAt: 0))
        #expect(RetryPolicy.critical.capMilliseconds < RetryPolicy.standard.capMilliseconds)
    }
}
