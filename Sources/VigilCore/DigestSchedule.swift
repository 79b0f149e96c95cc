import Foundation

/// How a subscription gathers its lower-severity alerts into digests (issue 21): alerts
/// below `below` are not sent one by one but listed in one email and one `alerts.digest`
/// webhook per window. Windows are `every` long and aligned on `at` in `timezone`, so a
/// daily digest at 08:00 Brussels time comes at 08:00 whether the day had 23, 24 or 25 hours.
public struct DigestSchedule: Sendable, Equatable, Hashable, Codable {
    /// Alerts below this severity are gathered; it is `medium` or `high` (critical and high
    /// alerts always go at once).
    public var below: Severity
    /// How long a window is.
    public var every: DigestPeriod
    /// The local time windows are aligned on.
    public var at: TimeOfDay
    /// The IANA time zone of `at` (`Europe/Brussels`, `UTC`).
    public var timezone: String

    /// The severities a digest may gather below: `critical` alerts always go at once.
    public static let allowedBelow: [Severity] = [.medium, .high]

    /// A schedule; `timezone` must be an identifier `TimeZone(identifier:)` knows.
    public init(below: Severity, every: DigestPeriod, at: TimeOfDay = TimeOfDay(hour: 0, minute: 0), timezone: String = "UTC") {
        self.below = below
        self.every = every
        self.at = at
        self.timezone = timezone
    }

    enum CodingKeys: String, CodingKey { case below, every, at, timezone }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        below = try c.decode(Severity.self, forKey: .below)
        // A stored schedule gathering critical alerts (from a record made elsewhere) would hold them back.
        guard Self.allowedBelow.contains(below) else {
            throw DecodingError.dataCorruptedError(forKey: .below, in: c, debugDescription: "a digest gathers below medium or high only")
        }
        let everyText = try c.decode(String.self, forKey: .every)
        guard let every = DigestPeriod(iso8601: everyText) else {
            throw DecodingError.dataCorruptedError(forKey: .every, in: c, debugDescription: "'\(everyText)' is not a digest period")
        }
        self.every = every
        let atText = try c.decodeIfPresent(String.self, forKey: .at) ?? "00:00"
        guard let at = TimeOfDay(atText) else {
            throw DecodingError.dataCorruptedError(forKey: .at, in: c, debugDescription: "'\(atText)' is not a time of day")
        }
        self.at = at
        timezone = try c.decodeIfPresent(String.self, forKey: .timezone) ?? "UTC"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(below, forKey: .below)
        try c.encode(every.iso8601, forKey: .every)
        try c.encode(at.description, forKey: .at)
        try c.encode(timezone, forKey: .timezone)
    }

    /// How long after its window closes a digest is due: routing decided before the close may
    /// still be committing (and, on Kafka, reaching the worker's view of the deliveries).
    public static let settlingMilliseconds: Int64 = 5_000
    /// How long after its window closes a gathered alert its digest has not settled is sent
    /// on its own (see `FollowUp.gathered`).
    public static let fallbackMilliseconds: Int64 = 3_600_000

    /// Whether an alert of `severity` is gathered rather than sent at once.
    public func gathers(_ severity: Severity) -> Bool { severity < below }

    /// The window `time` falls in. Day-long periods (`P1D`, `P7D`) run from `at` on one local
    /// day to `at` on a later one, counted in calendar days from Monday 1 January 2001 (so
    /// weekly digests start on Mondays); shorter periods (`PT1H`) step from each day's `at`
    /// in elapsed time, the day's last window ending at the next day's `at`.
    public func window(containing time: Timestamp) -> DigestWindow {
        let zone = TimeZone(identifier: timezone) ?? TimeZone(secondsFromGMT: 0)!
        /// The zone's offset from UTC at `ms`, in milliseconds.
        func offset(_ ms: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Timestamp(milliseconds: ms).date)) * 1000 }
        /// When `at` falls on the local day `day` (days since 1970-01-01). A local time that
        /// does not exist that day (skipped by a daylight-saving change) is the first one after
        /// it, the instant of the change; one that happens twice is the first. Worked out from
        /// the zone's offsets alone: Foundation's `Calendar.nextDate(after:matching:)` jumps to
        /// the next day for a time inside a half-hour gap (Australia/Lord_Howe), which made an
        /// empty window.
        func start(ofDay day: Int64) -> Timestamp {
            // The local wall time, read as if it were UTC; the instants that show it are
            // `wall - offset` for an offset in force then (one a day either side covers a
            // change). Wrapping arithmetic: an absurd instant gives an absurd window, no trap.
            let wall = day &* 86_400_000 &+ Int64(at.hour) * 3_600_000 &+ Int64(at.minute) * 60_000
            let candidates = [offset(wall &- 86_400_000), offset(wall &+ 86_400_000)].map { wall &- $0 }
            if let first = candidates.filter({ offset($0) == wall &- $0 }).min() { return Timestamp(milliseconds: first) }
            // Skipped: the change happened between the two candidates; find its instant.
            var (before, after) = (candidates.min()!, candidates.max()!)
            let offsetBefore = offset(before)
            while after &- before > 1 {
                let middle = before &+ (after &- before) / 2
                if offset(middle) == offsetBefore { before = middle } else { after = middle }
            }
            return Timestamp(milliseconds: after)
        }
        let localMilliseconds = time.milliseconds.addingReportingOverflow(offset(time.milliseconds)).partialValue
        var day = localMilliseconds >= 0 ? localMilliseconds / 86_400_000 : (localMilliseconds + 1) / 86_400_000 - 1
        if time < start(ofDay: day) { day -= 1 }
        switch every {
        case .days(let n):
            let first = day - Self.positiveRemainder(day - Self.referenceDay, Int64(n))
            return DigestWindow(start: start(ofDay: first), end: start(ofDay: first + Int64(n)))
        case .seconds(let seconds):
            let dayStart = start(ofDay: day), nextDay = start(ofDay: day + 1)
            let length = seconds * 1000
            let index = max(0, time.milliseconds - dayStart.milliseconds) / length
            let windowStart = dayStart.milliseconds + index * length
            return DigestWindow(
                start: Timestamp(milliseconds: windowStart), end: Timestamp(milliseconds: min(windowStart + length, nextDay.milliseconds)))
        }
    }

    /// Monday 1 January 2001, in days since 1970-01-01: day-long windows count from it.
    static let referenceDay: Int64 = 11_323

    static func positiveRemainder(_ a: Int64, _ n: Int64) -> Int64 { ((a % n) + n) % n }
}

/// One window of a digest: from `start` (included) to `end` (excluded).
public struct DigestWindow: Sendable, Hashable {
    /// When it opens; with the subscriber and channel it names the digest.
    public let start: Timestamp
    /// When it closes; its digest goes out then.
    public let end: Timestamp

    /// A window.
    public init(start: Timestamp, end: Timestamp) {
        self.start = start
        self.end = end
    }
}

/// How long a digest's window is: whole calendar days (`P1D`, `P7D`, `P2W`) or a time of at
/// least ten seconds and at most a day (`PT1H`, `PT30M`, `PT10S`). Days and hours together
/// (`P1DT12H`) are refused: they would not line up with `at` from one window to the next.
public enum DigestPeriod: Sendable, Hashable {
    /// Calendar days, 1 to 31.
    case days(Int)
    /// Seconds, 10 to 86,400.
    case seconds(Int64)

    /// The longest day-long period.
    public static let maxDays = 31
    /// The shortest period, so that tests run fast and nobody gets a digest a second.
    public static let minSeconds: Int64 = 10

    /// Reads an ISO 8601 duration; `nil` for anything else or a period out of range.
    public init?(iso8601 text: String) {
        guard text.count <= 32, text.hasPrefix("P") else { return nil }
        var days: Int64 = 0, seconds: Int64 = 0, number = "", inTime = false, sawAny = false
        // Designators come once each, in ISO 8601's order (W, D, then after T: H, M, S).
        var lastRank = 0
        for character in text.dropFirst() {
            if character.isASCII, character.isNumber {
                number.append(character)
                guard number.count <= 6 else { return nil }
                continue
            }
            if character == "T" {
                guard !inTime, number.isEmpty else { return nil }
                inTime = true
                continue
            }
            guard let value = Int64(number) else { return nil }
            number = ""
            sawAny = true
            let rank: Int
            switch (character, inTime) {
            case ("W", false): (days, rank) = (days + value * 7, 1)
            case ("D", false): (days, rank) = (days + value, 2)
            case ("H", true): (seconds, rank) = (seconds + value * 3600, 3)
            case ("M", true): (seconds, rank) = (seconds + value * 60, 4)
            case ("S", true): (seconds, rank) = (seconds + value, 5)
            default: return nil
            }
            guard rank > lastRank else { return nil }
            lastRank = rank
        }
        guard number.isEmpty, sawAny, !inTime || lastRank >= 3, (days == 0) != (seconds == 0) else { return nil }
        if days > 0 {
            guard days <= Int64(Self.maxDays) else { return nil }
            self = .days(Int(days))
        } else {
            guard seconds >= Self.minSeconds, seconds <= 86_400 else { return nil }
            self = .seconds(seconds)
        }
    }

    /// The canonical ISO 8601 form: `P7D`, `PT1H30M`, `PT10S`.
    public var iso8601: String {
        switch self {
        case .days(let n): return "P\(n)D"
        case .seconds(let total):
            let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60)
            return "PT" + (h > 0 ? "\(h)H" : "") + (m > 0 ? "\(m)M" : "") + (s > 0 ? "\(s)S" : "")
        }
    }
}

/// A local time of day, `HH:MM`.
public struct TimeOfDay: Sendable, Hashable, CustomStringConvertible {
    /// 0 to 23.
    public let hour: Int
    /// 0 to 59.
    public let minute: Int

    /// A time; out-of-range parts are clamped.
    public init(hour: Int, minute: Int) {
        self.hour = min(max(hour, 0), 23)
        self.minute = min(max(minute, 0), 59)
    }

    /// Reads `HH:MM` (24-hour clock, two digits each); `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), hour < 24, minute < 60
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    /// `08:00`.
    public var description: String { (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)" }
}
