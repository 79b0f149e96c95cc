import Synchronization
import Testing
import VigilCore
@testable import VigilDelivery

/// A case read is reused only while no alert was appended since it was made.
@Suite struct CaseReadingsTests {
    @Test func aReadIsKeptUntilTheNextAppend() {
        let readings = CaseReadings()
        let reads = Mutex(0)
        func read() -> [StoredAlert] {
            reads.withLock { $0 += 1 }
            return []
        }
        _ = readings.views(of: "a", read: read)
        _ = readings.views(of: "a", read: read)
        #expect(reads.withLock { $0 } == 1)
        readings.appended()
        _ = readings.views(of: "a", read: read)
        #expect(reads.withLock { $0 } == 2, "an append since the read: read again")
    }

    @Test func aReadAnAppendOvertookIsNotKept() {
        let readings = CaseReadings()
        let reads = Mutex(0)
        _ = readings.views(of: "a") {
            reads.withLock { $0 += 1 }
            readings.appended()  // an append lands while the case is read
            return []
        }
        _ = readings.views(of: "a") {
            reads.withLock { $0 += 1 }
            return []
        }
        #expect(reads.withLock { $0 } == 2)
    }

    @Test func itKeepsAtMostItsCapacity() {
        let readings = CaseReadings()
        let reads = Mutex(0)
        for n in 0...CaseReadings.capacity { _ = readings.views(of: "\(n)") { reads.withLock { $0 += 1 }; return [] } }
        _ = readings.views(of: "0") { reads.withLock { $0 += 1 }; return [] }
        #expect(reads.withLock { $0 } == CaseReadings.capacity + 2, "the oldest read was dropped")
    }
}
