import Testing
@testable import VigilBench

/// What `vigil bench crash` decides before it starts a process: a run too large for the
/// in-process mock cluster's retention is refused, the default run is not.
@Suite struct CrashBenchmarkTests {
    @Test func theDefaultRunFitsTheMockCluster() {
        var b = CrashBenchmark(executable: "/nonexistent/vigil")
        b.kafka = ""
        #expect(b.estimatedAlerts > 1000 && b.estimatedAlerts <= CrashBenchmark.mockClusterAlerts, "\(b.estimatedAlerts)")
    }

    @Test func aRunBeyondTheMockClustersRetentionIsRefusedBeforeAnythingStarts() {
        var b = CrashBenchmark(executable: "/nonexistent/vigil")
        b.kafka = ""
        b.kills = 30
        b.pause = 5...15
        #expect(throws: CrashFault.self) { try b.run() }
        // The same run against a real cluster, or on the embedded log, is not bounded by it
        // (it then fails only because the binary does not exist).
        b.kafka = nil
        #expect(throws: BenchmarkFailure.self) { try b.run() }
    }
}
