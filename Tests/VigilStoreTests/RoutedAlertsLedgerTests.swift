import Testing
import VigilCore
import VigilTestSupport
@testable import VigilStore

/// `DeliveryLedger.alertIDs(routedTo:limit:)`, what a subscriber's feed lists, on the
/// embedded queue and the in-memory double: newest first, each alert once however many
/// channels and follow-ups it had, skipped deliveries left out, other subscribers' alerts
/// never shown.
@Suite struct RoutedAlertsLedgerTests {
    static let base: Int64 = 1_795_338_843_000

    static func routed(
        _ alertID: String, offset: LogOffset, to subscriber: String, channel: String = "a", state: DeliveryState = .pending, followUp: FollowUp? = nil
    ) -> RoutedDelivery {
        RoutedDelivery(
            alertID: alertID, alertOffset: offset, subscriberID: subscriber, channelID: "chn_\(subscriber)_\(channel)", channelType: .webhook,
            clearance: .restricted, severity: .high, reason: followUp == nil ? .matched : .followUp, initialState: state, followUp: followUp)
    }

    /// Time-ordered alert ids, as the intake makes them.
    static func ids(_ count: Int) -> [String] { (0..<count).map { ULID(time: Timestamp(milliseconds: base + Int64($0) * 1000)).description } }

    @Test(arguments: StoreKind.allCases)
    func newestFirstOncePerAlertWithoutSkippedOnesOrOtherSubscribers(kind: StoreKind) throws {
        let queue = try kind.makeQueue()
        let a = Self.ids(5)
        try queue.record([
            Self.routed(a[0], offset: 1, to: "desk"),
            Self.routed(a[1], offset: 2, to: "desk"), Self.routed(a[1], offset: 2, to: "desk", channel: "b"),
            Self.routed(a[2], offset: 3, to: "desk", state: .skipped), Self.routed(a[2], offset: 3, to: "other"),
            Self.routed(a[3], offset: 4, to: "other"),
            Self.routed(a[4], offset: 5, to: "desk"), Self.routed(a[4], offset: 5, to: "desk", followUp: .reminder(1)),
        ])
        #expect(try queue.alertIDs(routedTo: "desk", limit: 10) == [a[4], a[1], a[0]])
        #expect(try queue.alertIDs(routedTo: "desk", limit: 2) == [a[4], a[1]])
        #expect(try queue.alertIDs(routedTo: "other", limit: 10) == [a[3], a[2]])
        #expect(try queue.alertIDs(routedTo: "nobody", limit: 10).isEmpty)
        #expect(try queue.alertIDs(routedTo: "desk", limit: 0).isEmpty)
    }

    /// Many alerts with several deliveries each: the walk down the index pages through rows,
    /// finishing an alert whose rows straddle a page, and stops at the limit.
    @Test(arguments: StoreKind.allCases)
    func aLongHistoryGivesExactlyTheNewestHundred(kind: StoreKind) throws {
        let queue = try kind.makeQueue()
        let a = Self.ids(450)
        var deliveries: [RoutedDelivery] = []
        for (index, id) in a.enumerated() {
            let offset = LogOffset(index + 1)
            for channel in ["a", "b", "c"] { deliveries.append(Self.routed(id, offset: offset, to: "desk", channel: channel)) }
            if index % 7 == 0 { deliveries.append(Self.routed(id, offset: offset, to: "desk", followUp: .reminder(1))) }
        }
        try queue.record(deliveries)
        #expect(try queue.alertIDs(routedTo: "desk", limit: 100) == Array(a.reversed().prefix(100)))
        #expect(try queue.alertIDs(routedTo: "desk", limit: 1000) == Array(a.reversed()))
    }
}
