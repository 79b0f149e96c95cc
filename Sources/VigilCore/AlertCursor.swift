/// How far a reader of the log has got, stream by stream: the embedded log is one stream,
/// and on Kafka each partition of `vigil.alerts` is one (a `LogOffset`'s high bits name it).
/// Offsets grow within a stream but not across streams, so "everything after offset N" misses
/// the alerts a lower partition takes later; a cursor keeps the last offset seen in each.
///
/// Written as one offset per stream from the first to the last it names, joined by `-`
/// (`42`, `17-1099511627776-2199023255560`; a stream's own base, `p << 40`, when nothing of it
/// was seen). One number is what an offset meant before cursors, "everything after it": the
/// streams below it are passed, so a client paging with an offset never loops (on Kafka it
/// may miss what lower partitions take later, which is why pages now give a cursor). The
/// embedded log has one stream, where the two readings are the same.
public struct AlertCursor: Sendable, Equatable, CustomStringConvertible {
    /// The bits of a `LogOffset` below its stream.
    public static let streamShift: LogOffset = 40
    /// The most streams a cursor names: `vigil kafka init` makes at most 256 partitions, so a
    /// cursor fits a request line (256 × 17 characters).
    public static let maxStreams = 256
    /// The largest offset a cursor takes: 2^53 − 1, the largest integer JSON carries exactly.
    public static let maxOffset: LogOffset = 9_007_199_254_740_991

    /// Per stream, the last offset seen; a stream not named has been seen up to its start.
    public private(set) var through: [LogOffset: LogOffset]

    /// The cursor before everything.
    public static let start = AlertCursor(through: [:])

    private init(through: [LogOffset: LogOffset]) { self.through = through }

    /// The cursor after `offset`, as one offset reads: past every stream below its own, after
    /// `offset` in its own, before everything in the streams above.
    public init(after offset: LogOffset) {
        through = [:]
        let stream = Self.stream(of: offset)
        for below in 0..<min(stream, LogOffset(Self.maxStreams)) { through[below] = ((below + 1) << Self.streamShift) - 1 }
        advance(past: offset)
    }

    /// The stream `offset` is in.
    public static func stream(of offset: LogOffset) -> LogOffset { offset >> streamShift }

    /// Whether `offset` comes after this cursor in its stream.
    public func admits(_ offset: LogOffset) -> Bool {
        let stream = Self.stream(of: offset)
        return offset > (through[stream] ?? stream << Self.streamShift)
    }

    /// The first offset of `stream` this cursor admits.
    public func firstAdmitted(in stream: LogOffset) -> LogOffset {
        let (next, overflow) = (through[stream] ?? stream << Self.streamShift).addingReportingOverflow(1)
        return overflow ? LogOffset.max : next
    }

    /// Moves past `offset` in its stream (never back).
    public mutating func advance(past offset: LogOffset) {
        guard offset > 0 else { return }
        let stream = Self.stream(of: offset)
        through[stream] = max(through[stream] ?? 0, offset)
    }

    /// The cursor as a query parameter takes it: one offset per stream from 0 to the last it
    /// names (a stream's base where nothing of it was seen).
    public var description: String {
        guard let last = through.keys.max() else { return "0" }
        return (0...last).map { String(through[$0] ?? $0 << Self.streamShift) }.joined(separator: "-")
    }

    /// The cursor `text` writes, or `nil` when it is not one: at most `maxStreams` offsets of
    /// 0 to `maxOffset`, joined by `-`; a single offset reads as `init(after:)` does.
    public init?(_ text: Substring) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= Self.maxStreams else { return nil }
        var offsets: [LogOffset] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 16, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let offset = LogOffset(part), offset <= Self.maxOffset, parts.count == 1 || Self.stream(of: offset) < LogOffset(Self.maxStreams)
            else { return nil }
            offsets.append(offset)
        }
        if offsets.count == 1 {
            self.init(after: offsets[0])
            return
        }
        var cursor = AlertCursor.start
        for offset in offsets where offset & ((1 << Self.streamShift) - 1) != 0 { cursor.advance(past: offset) }
        self = cursor
    }
}
