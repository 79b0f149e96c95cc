import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The disk's floor under a durable append: 4 KiB appended to a file and `fsync`ed, over
/// and over, in a directory on the same disk as the service's data directory. Issue 22 bounds
/// Vigil's fresh latency by Alertmanager's plus this one's p99 from the same run.
enum FsyncProbe {
    /// `count` appends of 4 KiB, each followed by `fsync`, in a new file in `directory`
    /// (removed afterwards); each one's time.
    static func measure(in directory: String, count: Int = 500) throws(ComparisonFailure) -> LatencySample {
        let path = (directory as NSString).appendingPathComponent("vigil-bench-fsync-\(UUID().uuidString)")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw .fsyncProbeFailed("could not create \(path): \(String(cString: strerror(errno)))") }
        defer {
            close(fd)
            unlink(path)
        }
        let block = [UInt8](repeating: 0x5A, count: 4096)
        var latencies: [UInt64] = []
        latencies.reserveCapacity(count)
        let started = BenchClock.now()
        for _ in 0..<count {
            let t0 = BenchClock.now()
            let written = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == block.count, fsync(fd) == 0 else { throw .fsyncProbeFailed("write or fsync on \(path): \(String(cString: strerror(errno)))") }
            latencies.append(BenchClock.now() - t0)
        }
        return LatencySample(count: count, seconds: BenchClock.seconds(since: started), latencies: latencies)
    }
}
