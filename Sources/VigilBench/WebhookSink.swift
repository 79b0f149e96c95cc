import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The comparison's webhook sink as the bench sees it: a `WebhookSinkServer` in a child
/// process (`vigil bench sink`), and the receipts it reports, by key.
final class WebhookSink: Sendable {
    private struct State {
        var port: Int?
        var exited = false
        /// When each key's webhooks arrived (nanoseconds of uptime).
        var receipts: [String: [UInt64]] = [:]
        /// Keys received at least once.
        var distinct = 0
        /// Webhooks whose body held no key.
        var unkeyed = 0
    }

    /// The state, in a box of its own: the reader thread starts before `self` is whole.
    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private let box = Box()
    private let process: Process
    private let input: Pipe

    /// The sink's loopback port.
    let port: Int

    /// Starts `executable arguments…` (the `vigil` binary and `bench sink`) and waits, at
    /// most 10 s, for it to announce its port.
    init(executable: String, arguments: [String]) throws(ComparisonFailure) {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do { try process.run() } catch { throw .sinkDidNotStart("\(executable) \(arguments.joined(separator: " ")): \(error)") }
        let box = self.box
        let reader = Thread { Self.read(output.fileHandleForReading, into: box) }
        reader.stackSize = 1 << 20
        reader.start()
        do {
            try BenchClock.wait(upTo: 10, every: 0.005, failure: "") { box.state.withLock { $0.port != nil || $0.exited } }
        } catch {}
        guard let port = box.state.withLock({ $0.port }) else {
            process.terminate()
            throw .sinkDidNotStart("\(executable) \(arguments.joined(separator: " ")) announced no port within 10 s")
        }
        self.port = port
    }

    /// The URL of the endpoint `name` on the sink.
    func url(_ name: String) -> String { "http://127.0.0.1:\(port)/hook/\(name)" }

    /// When the sink received each webhook carrying `key`.
    func times(of key: String) -> [UInt64] { box.state.withLock { $0.receipts[key] ?? [] } }

    /// How many of `keys` have reached the sink at least once, and the latest of their first receipts.
    func firstReceipts(of keys: [String]) -> (count: Int, latest: UInt64) {
        box.state.withLock { state in
            var count = 0, latest: UInt64 = 0
            for key in keys {
                guard let first = state.receipts[key]?.min() else { continue }
                count += 1
                latest = max(latest, first)
            }
            return (count, latest)
        }
    }

    /// How many keys have reached the sink at least once since the last `reset`.
    var distinctKeys: Int { box.state.withLock { $0.distinct } }

    /// Webhooks received so far, with and without a key.
    var received: Int { box.state.withLock { $0.receipts.values.reduce($0.unkeyed) { $0 + $1.count } } }

    /// Forgets every receipt (between runs, so the dictionary does not grow across them).
    func reset() {
        box.state.withLock {
            $0.receipts = [:]
            $0.distinct = 0
            $0.unkeyed = 0
        }
    }

    /// Closes the sink's standard input, which ends it; kills it if it has not ended within 5 s.
    func stop() {
        try? input.fileHandleForWriting.close()
        try? BenchClock.wait(upTo: 5, every: 0.01, failure: "") { !process.isRunning }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Reads the sink's lines until it closes its output: `port N` first, then `KEY NANOSECONDS`.
    /// A line of any other shape is ignored.
    private static func read(_ handle: FileHandle, into box: Box) {
        var pending: [UInt8] = []
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending += chunk
            guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else { continue }
            let lines = pending[..<lastNewline].split(separator: UInt8(ascii: "\n"))
            pending.removeSubrange(...lastNewline)
            box.state.withLock { state in
                for line in lines {
                    let fields = line.split(separator: UInt8(ascii: " "))
                    guard fields.count == 2, let number = UInt64(String(decoding: fields[1], as: UTF8.self)) else { continue }
                    let name = String(decoding: fields[0], as: UTF8.self)
                    if name == "port" {
                        state.port = Int(exactly: number).flatMap { (1...65535).contains($0) ? $0 : nil }
                    } else if name == "-" {
                        state.unkeyed += 1
                    } else {
                        if state.receipts[name] == nil { state.distinct += 1 }
                        state.receipts[name, default: []].append(number)
                    }
                }
            }
        }
        box.state.withLock { $0.exited = true }
    }
}
