import Foundation
import Testing
import VigilCore
import VigilCrypto
@testable import VigilKafka

/// Follow-ups (issue 19) on Kafka: the delivery message carries the follow-up (an unreadable
/// one is refused as outside input); a worker holds one until it is due, and does not commit
/// its record before it is done, so a restart reads it again, still waiting.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaFollowUpTests {
    @Test func aDeliveryMessageCarriesItsFollowUp() throws {
        let decoded = try KafkaDeliveryMessage.decode(KafkaRecordSafetyTests.message(["follow_up": #""escalation:sub_desk""#])).get()
        #expect(decoded.record.followUp == .escalation(from: "sub_desk"))
        #expect(try KafkaDeliveryMessage.decode(decoded.encoded()).get() == decoded)
        #expect(try KafkaDeliveryMessage.decode(KafkaRecordSafetyTests.message([:])).get().record.followUp == nil)
        #expect(try KafkaDeliveryMessage.decode(KafkaRecordSafetyTests.message(["follow_up": "null"])).get().record.followUp == nil)
    }

    @Test(arguments: [#""reminder:1e19""#, #""reminder:0""#, #""dance:1""#, #""escalation:""#, "7", #""case_reminder:soon""#])
    func anUnreadableFollowUpIsRefused(value: String) {
        guard case .failure(let refusal) = KafkaDeliveryMessage.decode(KafkaRecordSafetyTests.message(["follow_up": value])) else {
            Issue.record("follow_up \(value) was taken")
            return
        }
        #expect(refusal.reason.contains("follow_up"))
    }

    func claim(_ queue: KafkaDeliveryQueue, at now: @autoclosure () -> Timestamp, within seconds: Double, until done: ([DeliveryRecord]) -> Bool) throws -> [DeliveryRecord] {
        var claimed: [DeliveryRecord] = []
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            claimed += try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: now())
            if done(claimed) { break }
            usleep(20_000)
        } while Date() < deadline
        return claimed
    }

    func complete(_ queue: KafkaDeliveryQueue, _ id: String, _ outcome: DeliveryOutcome, at now: Timestamp) {
        let done = DispatchSemaphore(value: 0)
        queue.complete(id, outcome: outcome, at: now) { _ in done.signal() }
        _ = done.wait(timeout: .now() + 20)
    }

    @Test func aFollowUpIsHeldUntilDueAndItsRecordStaysUncommittedUntilDone() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 1)
        let alert = ULID().description
        let now = Timestamp.now()
        let soon = Timestamp(milliseconds: now.milliseconds + 60_000), inAnHour = Timestamp(milliseconds: now.milliseconds + 3_600_000)
        func routed(_ subscriber: String, _ followUp: FollowUp?, _ due: Timestamp?) -> RoutedDelivery {
            RoutedDelivery(
                alertID: alert, alertOffset: 1, subscriberID: subscriber, channelID: "chn_\(subscriber)", channelType: .webhook,
                clearance: .restricted, severity: .high, reason: followUp == nil ? .matched : .followUp, initialState: .pending,
                followUp: followUp, dueAt: due)
        }
        do {
            let queue = try KafkaDeliveryQueue(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
            defer { queue.close() }
            try queue.record([routed("desk", nil, nil), routed("desk", .reminder(1), soon), routed("backup", .escalation(from: "desk"), inAnHour)])
            #expect(try queue.deliveries(ofAlert: alert).first { $0.followUp == .escalation(from: "desk") }?.nextAttemptAt == inAnHour)
            try queue.startWorking(isReadable: { _ in true }, onAvailable: {})
            // Claims at chosen times: the group's first rebalance takes seconds on the mock cluster.
            let beforeSoon = Timestamp(milliseconds: soon.milliseconds - 1)
            let first = try claim(queue, at: beforeSoon, within: 20) { !$0.isEmpty }
            #expect(first.map(\.followUp) == [nil], "only the first sending before the reminder is due")
            complete(queue, try #require(first.first).id, .delivered, at: beforeSoon)
            let reminder = try claim(queue, at: soon, within: 20) { !$0.isEmpty }
            #expect(reminder.map(\.followUp) == [.reminder(1)], "claimed once due")
            complete(queue, try #require(reminder.first).id, .cancelled(reason: "acknowledged by desk"), at: soon)
            #expect(try queue.deliveries(ofAlert: alert).first { $0.followUp == .reminder(1) }?.state == .cancelled)
            #expect(try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: soon).isEmpty, "the escalation is not sent before its time")
            #expect(try queue.nextDueTime() == inAnHour)
        }
        // Another worker of the group reads from the last commit: the escalation was not
        // committed, so it is read again and still waits; what was done is not sent again.
        let next = try KafkaDeliveryQueue(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { next.close() }
        try next.startWorking(isReadable: { _ in true }, onAvailable: {})
        let deadline = Date().addingTimeInterval(20)
        while try next.nextDueTime() == nil && Date() < deadline { usleep(20_000) }
        #expect(try next.nextDueTime() == inAnHour)
        #expect(try next.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: soon).isEmpty)
        let later = try claim(next, at: Timestamp(milliseconds: inAnHour.milliseconds + 1), within: 5) { !$0.isEmpty }
        #expect(later.map(\.followUp) == [.escalation(from: "desk")], "the delivered first sending and the cancelled reminder are settled")
    }

    /// More follow-ups waiting for their time than the read-ahead bound do not stop the
    /// reading of work that is due.
    @Test func manyWaitingFollowUpsDoNotHoldBackDueWork() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 1)
        let queue = try KafkaDeliveryQueue(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { queue.close() }
        let inAnHour = Timestamp(milliseconds: Timestamp.now().milliseconds + 3_600_000)
        let waiting = (1...10_050).map { n in
            RoutedDelivery(
                alertID: ULID().description, alertOffset: Int64(n), subscriberID: "desk", channelID: "chn_desk", channelType: .webhook,
                clearance: .restricted, severity: .high, reason: .followUp, initialState: .pending, followUp: .reminder(1), dueAt: inAnHour)
        }
        let alert = ULID().description
        try queue.record(waiting)
        try queue.record([RoutedDelivery(
            alertID: alert, alertOffset: 1, subscriberID: "desk", channelID: "chn_desk", channelType: .webhook, clearance: .restricted,
            severity: .high, reason: .matched, initialState: .pending)])
        try queue.startWorking(isReadable: { _ in true }, onAvailable: {})
        let claimed = try claim(queue, at: .now(), within: 60) { !$0.isEmpty }
        #expect(claimed.map(\.alertID) == [alert], "the first sending behind them is read and claimed")
    }
}
