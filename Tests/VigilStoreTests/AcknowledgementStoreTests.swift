import Foundation
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilStore

/// Acknowledgements (issue 19): one per alert and subscriber, the note sealed with the
/// alert's data key (on the embedded log and the in-memory double alike), erased with it,
/// and replicated as a sealed row that a replica checks as outside input.
@Suite(.timeLimit(.minutes(1))) struct AcknowledgementStoreTests {
    func ack(
        _ alertID: String, _ subscriberID: String, _ action: AckAction = .seen, at ms: Int64 = 1_795_338_900_000, via: Acknowledgement.Via = .link,
        note: String? = nil
    ) -> Acknowledgement {
        Acknowledgement(
            alertID: alertID, subscriberID: subscriberID, organisation: "be-fps", kind: .diplomaticDesk, action: action,
            at: Timestamp(milliseconds: ms), via: via, note: note)
    }

    @Test(arguments: StoreKind.allCases)
    func theFirstAcknowledgementCountsAndALaterOneUpdatesIt(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        let acks = AcknowledgementStore(database: try Database(path: temporaryDatabasePath()), log: log)
        let alert = makeAlert(), other = makeAlert()
        _ = try await log.appended(alert).get()
        _ = try await log.appended(other).get()

        #expect(try acks.acknowledge(ack(alert.id, "sub_b", .seen, note: "we saw it")))
        #expect(try !acks.acknowledge(ack(alert.id, "sub_b", .seen, at: 1_795_338_960_000, via: .api, note: "changed?")), "not the first")
        var held = try #require(try acks.acknowledgements(ofAlert: alert.id).first)
        #expect(held.at == Timestamp(milliseconds: 1_795_338_960_000) && held.via == .link && held.note == "we saw it", "the same action moves only the time")
        #expect(try !acks.acknowledge(ack(alert.id, "sub_b", .demarche, at: 1_795_339_000_000, via: .api, note: "démarche filed")))
        held = try #require(try acks.acknowledgements(ofAlert: alert.id).first)
        #expect(held.action == .demarche && held.via == .api && held.note == "démarche filed" && held.at == Timestamp(milliseconds: 1_795_339_000_000))

        #expect(try acks.acknowledge(ack(alert.id, "sub_a", .acting)))
        #expect(try acks.acknowledge(ack(other.id, "sub_c")))
        #expect(try acks.acknowledgements(ofAlert: alert.id).map(\.subscriberID) == ["sub_a", "sub_b"], "by subscriber id, only this alert's")
        #expect(try acks.acknowledgements(ofAlert: alert.id).first?.note == nil, "no note given, none read")
        #expect(try acks.isAcknowledged(alert.id, byAnyOf: ["sub_x", "sub_a"]))
        #expect(try !acks.isAcknowledged(alert.id, byAnyOf: ["sub_c", "sub_x"]))
        #expect(try !acks.isAcknowledged(alert.id, byAnyOf: []))
        #expect(try acks.isAcknowledged(other.id, byAnyOf: ["sub_c"]))
    }

    @Test(arguments: StoreKind.allCases)
    func anErasedAlertsNoteNoLongerOpensAndNoNewOneIsSealed(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        let path = temporaryDatabasePath()
        let acks = AcknowledgementStore(database: try Database(path: path), log: log)
        let alert = makeAlert(), kept = makeAlert()
        _ = try await log.appended(alert).get()
        _ = try await log.appended(kept).get()
        try acks.acknowledge(ack(alert.id, "sub_a", note: "Visited Ilse Vandermeulen in custody"))
        try acks.acknowledge(ack(kept.id, "sub_a", note: "kept note"))
        #expect(!rawFiles(of: path).contains("Vandermeulen"), "the note reaches the file sealed")

        #expect(try log.erase(.alert(alert.id)) == [alert.id])
        let erased = try #require(try acks.acknowledgements(ofAlert: alert.id).first)
        #expect(erased.note == nil && erased.action == .seen, "the acknowledgement stays; its note is gone")
        #expect(try acks.acknowledgements(ofAlert: kept.id).first?.note == "kept note", "only the erased alert's note")
        #expect(throws: AlertLogError.noDataKey(alertID: alert.id)) { try acks.acknowledge(ack(alert.id, "sub_b", note: "late")) }
        #expect(throws: AlertLogError.noDataKey(alertID: "01NOSUCHALERT")) { try log.sealNote("x", forAlert: "01NOSUCHALERT") }
        #expect(try acks.acknowledge(ack(alert.id, "sub_b")), "an erased alert can still be acknowledged without a note")
    }

    @Test(arguments: StoreKind.allCases)
    func aNoteOpensOnlyForItsOwnAlert(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        let a = makeAlert(), b = makeAlert()
        _ = try await log.appended(a).get()
        _ = try await log.appended(b).get()
        let sealed = try log.sealNote("for a only", forAlert: a.id)
        #expect(log.openNote(sealed, forAlert: a.id) == "for a only")
        #expect(log.openNote(sealed, forAlert: b.id) == nil, "a box moved to another alert does not open")
        var altered = sealed
        altered[altered.count - 1] ^= 1
        #expect(log.openNote(altered, forAlert: a.id) == nil)
    }
}

extension ReplicationTests {
    @Test func acknowledgementsReplicateWithTheirNoteSealedAndTombstonesDelete() async throws {
        let feed = RecordingFeed()
        let log = try EmbeddedAlertLog(database: try Database(path: temporaryDatabasePath()), masterKey: testMasterKey)
        let alert = makeAlert()
        _ = try appendNow(log, alert).get()
        let source = AcknowledgementStore(database: try Database(path: temporaryDatabasePath()), log: log, feed: feed)
        let replica = AcknowledgementStore(database: try Database(path: temporaryDatabasePath()), log: log)
        try source.acknowledge(Acknowledgement(
            alertID: alert.id, subscriberID: "sub_1", organisation: "be-fps", kind: .embassy, action: .prisonVisit,
            at: Timestamp(milliseconds: 1_795_338_900_000), via: .console, note: "Vandermeulen seen"))
        try source.acknowledge(Acknowledgement(
            alertID: alert.id, subscriberID: "sub_1", organisation: "be-fps", kind: .embassy, action: .demarche,
            at: Timestamp(milliseconds: 1_795_338_960_000), via: .api, note: "Vandermeulen: démarche"))
        #expect(feed.records.map(\.key) == ["\(alert.id)/sub_1", "\(alert.id)/sub_1"])
        #expect(feed.records.allSatisfy { !String(decoding: $0.value ?? [], as: UTF8.self).contains("Vandermeulen") }, "only sealed")
        for record in feed.records { try replica.applyReplica(key: record.key, value: record.value) }
        #expect(try replica.acknowledgements(ofAlert: alert.id) == source.acknowledgements(ofAlert: alert.id))
        #expect(try replica.acknowledgements(ofAlert: alert.id).first?.note == "Vandermeulen: démarche")
        try replica.applyReplica(key: "\(alert.id)/sub_1", value: nil)
        #expect(try replica.acknowledgements(ofAlert: alert.id).isEmpty)
    }

    /// A record from `vigil.acks` is outside input: anything that does not read as an
    /// acknowledgement of its own key is refused and changes nothing.
    @Test(arguments: [
        #"{"alert_id":"01A","subscriber_id":"sub_1","organisation":"o","kind":"embassy","action":"seen","at":1e19,"via":"api"}"#,
        #"{"alert_id":"01A","subscriber_id":"sub_1","organisation":"o","kind":"embassy","action":"seen","at":-5,"via":"api"}"#,
        #"{"alert_id":"01A","subscriber_id":"sub_1","organisation":"o","kind":"embassy","action":"seen","at":1.5,"via":"api"}"#,
        #"{"alert_id":"01A","subscriber_id":"sub_1","organisation":"o","kind":"embassy","action":"dance","at":1,"via":"api"}"#,
        #"{"alert_id":"01A","subscriber_id":"sub_1","organisation":"o","kind":"spy","action":"seen","at":1,"via":"api"}"#,
        #"{"alert_id":"01A","subscriber_id":"sub_1","organisation":"o","kind":"embassy","action":"seen","at":1,"via":"fax"}"#,
        #"{"alert_id":"01A","subscriber_id":"sub_2","organisation":"o","kind":"embassy","action":"seen","at":1,"via":"api"}"#,
        #"{"alert_id":"01A","subscriber_id":"sub_1","organisation":"o","kind":"embassy","action":"seen","at":1,"via":"api","note":"not base64!"}"#,
        #"{"alert_id":"01A","subscriber_id":"sub_1","organisation":"o\u0000","kind":"embassy","action":"seen","at":1,"via":"api"}"#,
        #"{"alert_id":"01A","subscriber_id":"sub_1","kind":"embassy","action":"seen","at":1,"via":"api"}"#,
        #"["01A","sub_1"]"#,
        "not json",
    ])
    func aMalformedAcknowledgementReplicaIsRefused(record: String) throws {
        let store = AcknowledgementStore(
            database: try Database(path: temporaryDatabasePath()), seal: { text, _ in Array(text.utf8) }, open: { _, _ in nil })
        #expect(throws: (any Error).self) { try store.applyReplica(key: "01A/sub_1", value: Array(record.utf8)) }
        #expect(try store.acknowledgements(ofAlert: "01A").isEmpty)
        let good = #"{"alert_id":"01A","subscriber_id":"sub_1","organisation":"o","kind":"embassy","action":"seen","at":1,"via":"api","note":"AAEC"}"#
        try store.applyReplica(key: "01A/sub_1", value: Array(good.utf8))
        #expect(try store.acknowledgements(ofAlert: "01A").map(\.action) == [.seen], "the well-formed record is taken")
    }
}
