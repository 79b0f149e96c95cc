import Dispatch
import Foundation
import Synchronization
import Testing
@testable import VigilKafka

/// The client state machine, state by state, in the style of async-http-client's
/// `HTTPConnectionPool+HTTP1StateTests`: events in, the action to take out.
@Suite struct KafkaClientStateTests {
    @Test func aRunningClientCountsItsCallsAndShutsDownAtOnceWhenIdle() {
        var state = KafkaClientState()
        #expect(state.enter() == .proceed)
        #expect(state.enter() == .proceed)
        #expect(state.phase == .running(inFlight: 2))
        #expect(state.leave() == .none)
        #expect(state.leave() == .none)
        #expect(state.phase == .running(inFlight: 0))
        #expect(state.shutdown() == .destroy)
        #expect(state.phase == .closed)
    }

    @Test func aClosedClientRefusesCallsAndShutdownIsIdempotent() {
        var state = KafkaClientState()
        #expect(state.shutdown() == .destroy)
        #expect(state.enter() == .refuse)
        #expect(state.shutdown() == .alreadyShutDown)
        #expect(state.shutdown() == .alreadyShutDown)
        #expect(state.phase == .closed)
    }

    @Test func aShutdownDuringCallsLeavesTheFreeingToTheLastCaller() {
        var state = KafkaClientState()
        #expect(state.enter() == .proceed)
        #expect(state.enter() == .proceed)
        #expect(state.shutdown() == .leaveToLastCaller)
        #expect(state.phase == .shuttingDown(inFlight: 2))
        #expect(state.enter() == .refuse, "no new call once shutdown has begun")
        #expect(state.shutdown() == .alreadyShutDown)
        #expect(state.leave() == .none)
        #expect(state.phase == .shuttingDown(inFlight: 1))
        #expect(state.leave() == .destroy, "the last call out frees the handle")
        #expect(state.phase == .closed)
        #expect(state.enter() == .refuse)
    }
}

/// `KafkaClientHandle` around a stand-in pointer: the handle is freed once, never under a call.
@Suite struct KafkaClientHandleTests {
    @Test func aCallInProgressFinishesBeforeTheHandleIsFreedAndLaterCallsAreRefused() throws {
        let freed = Mutex(0)
        let handle = KafkaClientHandle(OpaquePointer(bitPattern: 0x1)!, what: "test client") { _ in freed.withLock { $0 += 1 } }
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let returned = DispatchSemaphore(value: 0)
        let freedInsideCall = Mutex<Int?>(nil)
        Thread.detachNewThread {
            _ = try? handle.withClient { _ in
                entered.signal()
                release.wait()
                freedInsideCall.withLock { $0 = freed.withLock { $0 } }
            }
            returned.signal()
        }
        entered.wait()
        handle.shutdown()
        #expect(freed.withLock { $0 } == 0, "not freed while a call is inside")
        #expect(handle.isShutDown)
        #expect(throws: KafkaError.self) { try handle.withClient { _ in } }
        release.signal()
        #expect(returned.wait(timeout: .now() + 10) == .success)
        #expect(freedInsideCall.withLock { $0 } == 0)
        #expect(freed.withLock { $0 } == 1, "freed by the last call to leave")
        handle.shutdown()
        #expect(freed.withLock { $0 } == 1, "shutdown is idempotent")
        do {
            try handle.withClient { _ in }
            Issue.record("a closed handle ran a call")
        } catch {
            #expect(error.description == "the test client is shut down; this process is stopping")
        }
    }

    @Test func droppingTheLastReferenceFreesTheHandleOnce() {
        let freed = Mutex(0)
        var handle: KafkaClientHandle? = KafkaClientHandle(OpaquePointer(bitPattern: 0x1)!, what: "test client") { _ in freed.withLock { $0 += 1 } }
        _ = try? handle?.withClient { _ in }
        handle = nil
        #expect(freed.withLock { $0 } == 1)
    }
}

/// Real clients on the mock cluster: a producer is freed when dropped, and closed clients
/// refuse calls instead of using freed memory.
@Suite(.serialized) struct KafkaClientLifecycleTests {
    /// Before, the delivery-report thread held the producer, so its `deinit` never ran and
    /// every producer lived (with its threads) until the process ended.
    @Test func aDroppedProducerIsFreedWithItsReportThread() throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("vigil.test", partitions: 1)
        var producer: KafkaProducer? = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        _ = try producer?.produceAndWait(topic: "vigil.test", key: Array("k".utf8), value: Array("v".utf8))
        weak let dropped = producer
        producer = nil
        #expect(dropped == nil, "the producer's deinit ran")
    }

    @Test func aShutProducerRefusesWritesWithAClearError() throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("vigil.test", partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        _ = try producer.produceAndWait(topic: "vigil.test", key: nil, value: Array("before".utf8))
        producer.shutdown()
        producer.shutdown()
        #expect {
            try producer.produceAndWait(topic: "vigil.test", key: nil, value: Array("after".utf8))
        } throws: { ($0 as? KafkaError)?.description == "the Kafka producer is shut down; this process is stopping" }
        #expect(throws: KafkaError.self) { try producer.flush(timeout: 1) }
    }

    @Test func closedReadersRefuseToPoll() throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("vigil.test", partitions: 2)
        let reader = try KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topics: ["vigil.test"])
        let deadline = Date().addingTimeInterval(30)
        while !reader.caughtUp && Date() < deadline { _ = try reader.poll(timeout: 0.1) }
        #expect(reader.caughtUp)
        #expect(reader.waitUntilCaughtUp(timeout: 0), "the wait ends at once for a reader that has caught up")
        reader.close()
        reader.close()
        #expect(throws: KafkaError.self) { _ = try reader.poll(timeout: 0.1) }
        let consumer = try KafkaConsumer(bootstrapServers: cluster.bootstrapServers, group: "g", topics: ["vigil.test"])
        consumer.close()
        #expect(throws: KafkaError.self) { _ = try consumer.poll(timeout: 0.1) }
        #expect(throws: KafkaError.self) { _ = try consumer.commit(TopicPartition("vigil.test", 0), before: 1) }
    }
}

/// The wait the router makes for the log's follower: woken by the reader, never polled.
@Suite struct KafkaReadProgressTests {
    @Test func aWaiterWakesWhenItsPartitionPassesItsOffsetAndOnlyThen() {
        let progress = KafkaReadProgress()
        #expect(!progress.hasRead(0, 0))
        #expect(!progress.wait(until: 0, 0, deadline: .now() + 0.05), "nothing read: the wait times out")
        let woke = DispatchSemaphore(value: 0)
        let answer = Mutex<Bool?>(nil)
        Thread.detachNewThread {
            answer.withLock { $0 = progress.wait(until: 1, 5, deadline: .now() + 30) }
            woke.signal()
        }
        progress.advance(0, past: 9)  // another partition: no wake-up
        progress.advance(1, past: 4)  // not far enough
        #expect(woke.wait(timeout: .now() + 0.2) == .timedOut)
        let started = Date()
        progress.advance(1, past: 5)
        #expect(woke.wait(timeout: .now() + 10) == .success)
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(answer.withLock { $0 } == true)
        #expect(progress.hasRead(1, 5) && !progress.hasRead(1, 6))
        #expect(progress.wait(until: 0, 9, deadline: .now()), "already read: no wait")
    }
}

/// One connection per process: its writers share one producer, and one `shutdown()` stops
/// its readers' threads and frees every client.
@Suite(.serialized) struct KafkaConnectionTests {
    /// The threads of this process named `name` (Linux truncates names to 15 bytes).
    static func threads(named name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }.count
    }

    @Test func writersShareOneProducerAndShutdownStopsEveryReader() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let connection = try KafkaConnection(bootstrapServers: cluster.bootstrapServers, signer: .forTests, writeTimeout: 5)
        let feed = KafkaReplicationFeed(connection: connection, topic: "vigil.tokens", timeout: 5)
        try feed.publish(key: "tok_1", value: Array("{}".utf8))
        let seen = Mutex<[String]>([])
        let follower = try connection.follow(
            ["vigil.tokens"], name: "lifecycle", timeout: 30,
            onRecord: { record in seen.withLock { $0.append(String(decoding: record.key ?? [], as: UTF8.self)) } }, onError: { _ in 0.1 })
        #expect(seen.withLock { $0 } == ["tok_1"], "read to the end before follow returns")
        #expect(follower.partitions(of: "vigil.tokens") == 2)
        #expect(Self.threads(named: "vigil-kafka-lif") == 1)
        let consumer = try connection.consumer(group: "lifecycle-test", topics: ["vigil.tokens"])

        connection.shutdown()
        #expect(Self.threads(named: "vigil-kafka-lif") == 0, "the follower's thread was joined")
        #expect(throws: KafkaError.self) { _ = try consumer.poll(timeout: 0.1) }
        #expect(throws: KafkaError.self) { try feed.publish(key: "tok_2", value: nil) }
        #expect {
            _ = try connection.follow(["vigil.tokens"], name: "late", onRecord: { _ in }, onError: { _ in 0 })
        } throws: { ($0 as? KafkaError)?.description.contains("shut down") == true }
        connection.shutdown()  // idempotent
        follower.stop()  // and so is each reader's own stop
    }
}
