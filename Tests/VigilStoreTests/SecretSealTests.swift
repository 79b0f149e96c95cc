import Foundation
import Testing
import VigilCore
@testable import VigilStore

@Suite struct SecretSealTests {
    func desk(_ channel: String) -> Subscriber {
        Subscriber(
            id: "sub_1", name: "Desk", kind: .diplomaticDesk, organisation: "FPS", contact: "d@example.org", clearance: .restricted,
            language: "en", channels: [Channel(id: channel, type: .webhook, url: "https://hooks.example.org/h")],
            subscriptions: [Subscription(countries: [CountryCode("BY")!], minSeverity: .low)])
    }

    @Test func webhookSecretsAreSealedInTheFileAndReadBack() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        let registry = SubscriberRegistry(database: db, seal: SecretSeal(masterKey: testMasterKey))
        let secret = "whsec_" + String(repeating: "Q", count: 32)
        try registry.save(desk("chn_1"), newSecrets: ["chn_1": secret])
        #expect(try registry.secrets(channelID: "chn_1") == [secret])
        let next = "whsec_" + String(repeating: "R", count: 32)
        #expect(try registry.rotate(channelID: "chn_1", newSecret: next))
        #expect(try registry.secrets(channelID: "chn_1") == [next, secret], "the old one still signs during the overlap")
        let stored = try db.read { try $0.connection.query("SELECT secret, previous_secret FROM channel_secrets").first }
        #expect(stored?.text(0)?.hasPrefix("v1:") == true && stored?.text(1)?.hasPrefix("v1:") == true)
        db.close()
        let raw = try String(decoding: Data(contentsOf: URL(fileURLWithPath: path)), as: Unicode.ASCII.self)
        #expect(!raw.contains("QQQQQQQQ") && !raw.contains("RRRRRRRR"))
    }

    @Test func aSealOpensOnlyForItsChannelAndKeyAndReadsLegacyPlaintext() throws {
        let seal = SecretSeal(masterKey: testMasterKey)
        let sealed = try seal.seal("whsec_abc", context: "chn_1")
        #expect(seal.open(sealed, context: "chn_1") == "whsec_abc")
        #expect(seal.open(sealed, context: "chn_2") == nil)
        #expect(SecretSeal(masterKey: .generate()).open(sealed, context: "chn_1") == nil)
        #expect(seal.open("whsec_written_before_sealing", context: "chn_1") == "whsec_written_before_sealing")
        #expect(testMasterKey.derivedKey("a") != testMasterKey.derivedKey("b") && testMasterKey.derivedKey("a") == testMasterKey.derivedKey("a"))
    }
}
