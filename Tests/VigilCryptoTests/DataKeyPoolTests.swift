import Testing
import VigilCrypto

@Suite struct DataKeyPoolTests {
    static func batch(_ ids: Range<Int>) -> [(id: Int, key: [UInt8])] { ids.map { ($0, [UInt8(truncatingIfNeeded: $0)]) } }

    /// Keys come out oldest first across batches; one background refill is asked for when a
    /// quarter is left, and not again until it ends; an empty pool is refilled by the caller.
    @Test func handsOutOldestFirstAndRefills() throws {
        let pool = DataKeyPool<Int>(batchSize: 8)
        var background = 0, now = 0, next = 0
        let refillNow = { now += 1; pool.add(Self.batch(next..<(next + 8))); next += 8 }
        var taken: [Int] = []
        for _ in 0..<20 {
            taken.append(try #require(pool.take(refillInBackground: { background += 1 }, refillNow: refillNow)).id)
        }
        #expect(taken == Array(0..<20), "oldest first, across batches")
        #expect(now == 3 && background == 1, "the caller refilled an empty pool; one background refill was asked for until it ended")
        pool.backgroundRefillEnded()
        for _ in 0..<4 { _ = pool.take(refillInBackground: { background += 1 }, refillNow: refillNow) }
        #expect(background == 2, "once it ended, the next low pool asks again")
    }

    /// A refill that makes nothing leaves the caller with no key after three tries.
    @Test func givesUpWhenRefillsMakeNothing() {
        let pool = DataKeyPool<Int>(batchSize: 8)
        var tries = 0
        #expect(pool.take(refillInBackground: {}, refillNow: { tries += 1 }) == nil)
        #expect(tries == 3)
    }
}
