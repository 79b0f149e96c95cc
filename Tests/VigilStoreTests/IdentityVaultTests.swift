import Foundation
import Testing
import VigilCore
@testable import VigilStore

@Suite struct IdentityVaultTests {
    static let name = "Aliaksandr Yarashuk"

    func sensitiveAlert(caseID: String? = nil) -> Alert {
        var alert = makeAlert(caseID: caseID)
        alert.defender = Defender(name: Self.name, organisation: "Belarusian Congress of Democratic Trade Unions", role: "chair")
        alert.summary = "\(Self.name) was detained at his home in Minsk."
        alert.region = "Minsk"
        return alert
    }

    @Test func identitiesAreSealedInTheFileAndOpenOnRead() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let alert = sensitiveAlert()
        _ = try appendNow(log, alert).get()
        #expect(try log.alert(id: alert.id)?.alert == alert)
        #expect(try log.alerts(matching: AlertQuery()).map(\.alert) == [alert])
        let raw = rawFiles(of: path)
        #expect(!raw.contains("Yarashuk") && !raw.contains("Aliaksandr") && !raw.contains("Congress of Democratic"))
        #expect(raw.contains("[erased]"), "the log keeps the erased view in clear")
        db.close()
    }

    @Test func erasingAnAlertLeavesOnlyTheErasedView() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let kept = sensitiveAlert(), erased = sensitiveAlert()
        _ = try appendNow(log, kept).get()
        _ = try appendNow(log, erased).get()
        #expect(try log.erase(.alert(erased.id)) == [erased.id])
        let read = try #require(try log.alert(id: erased.id)).alert
        #expect(read.defender.name == "[erased]" && read.defender.organisation == "[erased]" && read.defender.role == "[erased]")
        // Fail closed (issue 17): the summary is sealed whole, no scrubbed copy stays readable.
        #expect(read.summary == "[erased]" && read.region == "[erased]")
        #expect(read.country == erased.country && read.severity == erased.severity, "routing fields stay readable")
        #expect(try log.alert(id: kept.id)?.alert == kept, "other alerts keep their identity")
        #expect(try log.erase(.alert("01NOSUCHALERT")) == [])
        db.close()
        let reopened = try EmbeddedAlertLog(database: try Database(path: path), masterKey: testMasterKey)
        #expect(try reopened.alert(id: erased.id)?.alert.defender.name == "[erased]", "erasure survives a restart")
        #expect(try reopened.alert(id: kept.id)?.alert == kept)
    }

    @Test func erasingACaseCoversEveryAlertOfIt() throws {
        let db = try Database(path: temporaryDatabasePath())
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let first = sensitiveAlert()
        var update = sensitiveAlert(caseID: first.id)
        update.kind = .update
        let other = sensitiveAlert()
        for alert in [first, update, other] { _ = try appendNow(log, alert).get() }
        #expect(try log.erase(.caseID(first.id)) == [first.id, update.id])
        #expect(try log.alerts(matching: AlertQuery()).map(\.alert.defender.name) == ["[erased]", "[erased]", Self.name])
        let keys = try db.read { try $0.connection.query("SELECT COUNT(*) FROM keys.data_keys k JOIN alerts a ON a.key_id = k.key_id").first?.int(0) }
        #expect(keys == 1)
    }

    @Test func anotherMasterKeyIsRefusedAtOpen() throws {
        let path = temporaryDatabasePath()
        do {
            let db = try Database(path: path)
            _ = try appendNow(try EmbeddedAlertLog(database: db, masterKey: testMasterKey), sensitiveAlert()).get()
            db.close()
        }
        #expect(throws: MasterKeyError.mismatch(Database.defaultKeysPath(for: path))) {
            _ = try EmbeddedAlertLog(database: try Database(path: path), masterKey: .generate())
        }
    }

    @Test func aKeyFileIsCreatedOnceAndReadBack() throws {
        let file = (NSTemporaryDirectory() as NSString).appendingPathComponent("vigil-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (first, created) = try MasterKey.loadOrCreate(file: file)
        let (second, createdAgain) = try MasterKey.loadOrCreate(file: file)
        #expect(created && !createdAgain && first.bytes == second.bytes)
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(throws: MasterKeyError.unreadable) { try MasterKey(text: "not a key") }
        #expect(throws: MasterKeyError.wrongLength(16)) { try MasterKey(text: String(repeating: "0", count: 32)) }
    }
}
