import Foundation
import Testing
@testable import VigilCore

/// An instant written in RFC 3339 (`2026-03-29T03:00:00+02:00`), for fixed-clock tests.
private func at(_ text: String) -> Timestamp {
    guard let time = Timestamp(rfc3339: text) else { fatalError("bad test instant \(text)") }
    return time
}

/// A schedule gathering below `high`, `every` long, aligned on `time` in `zone`.
private func schedule(_ every: String, at time: String, in zone: String) -> DigestSchedule {
    DigestSchedule(below: .high, every: DigestPeriod(iso8601: every)!, at: TimeOfDay(time)!, timezone: zone)
}

private let hour: Int64 = 3_600_000

/// Digest schedules (issue 21) with a fixed clock: the periods and times of day a subscription
/// may give, and the windows they make, across daylight-saving changes.
@Suite struct DigestScheduleTests {
    // MARK: - Periods

    @Test(arguments: [
        ("P1D", DigestPeriod.days(1), "P1D"),
        ("P7D", .days(7), "P7D"),
        ("P1W", .days(7), "P7D"),
        ("P2W", .days(14), "P14D"),
        ("P31D", .days(31), "P31D"),
        ("PT1H", .seconds(3600), "PT1H"),
        ("PT30M", .seconds(1800), "PT30M"),
        ("PT10S", .seconds(10), "PT10S"),
        ("PT24H", .seconds(86_400), "PT24H"),
        ("PT90M", .seconds(5400), "PT1H30M"),
        ("PT1H0M5S", .seconds(3605), "PT1H5S"),
    ] as [(String, DigestPeriod, String)])
    func periodAccepted(text: String, period: DigestPeriod, canonical: String) {
        #expect(DigestPeriod(iso8601: text) == period)
        #expect(period.iso8601 == canonical)
        // The canonical form reads back as the same period.
        #expect(DigestPeriod(iso8601: canonical) == period)
    }

    @Test(arguments: [
        "PT9S", "PT0S", "P0D", "P32D", "P5W", "PT24H1S", "PT1441M", "P1DT12H", "P", "PT", "1D", "P-1D", "P1.5D", "P1,5D", "p1d", "",
        "P1M", "P1Y", "PT1D", "P1H", "P1D ", " P1D", "PT1H+", "P٣D", "P1234567D", "PT99999999999999999999S",
        "P" + String(repeating: "9", count: 40) + "D",
    ])
    func periodRefused(text: String) {
        #expect(DigestPeriod(iso8601: text) == nil, "\(text) should be refused")
    }

    @Test(arguments: ["P1DT", "P1D1D", "PT1M1H", "PT1S1S", "P1D1W"])
    func periodWithMisplacedOrRepeatedDesignatorsRefused(text: String) {
        #expect(DigestPeriod(iso8601: text) == nil, "\(text) should be refused")
    }

    // MARK: - Times of day

    @Test(arguments: [("00:00", 0, 0), ("08:00", 8, 0), ("23:59", 23, 59), ("02:30", 2, 30)])
    func timeOfDayRead(text: String, hour: Int, minute: Int) {
        let time = TimeOfDay(text)
        #expect(time?.hour == hour)
        #expect(time?.minute == minute)
        #expect(time?.description == text)
    }

    @Test(arguments: ["8:00", "08:0", "24:00", "08:60", "0800", "08:00:00", "", ":", "ab:cd", "-1:00", "+8:00", "٠٨:٠٠", "08 :00", " 8:00"])
    func timeOfDayRefused(text: String) {
        #expect(TimeOfDay(text) == nil, "\(text) should be refused")
    }

    @Test func timeOfDayClampsOutOfRangeParts() {
        #expect(TimeOfDay(hour: 25, minute: -3).description == "23:00")
        #expect(TimeOfDay(hour: -1, minute: 75).description == "00:59")
    }

    // MARK: - Windows

    @Test func dailyInUTCRunsFromAtToAt() {
        let daily = schedule("P1D", at: "08:00", in: "UTC")
        let window = DigestWindow(start: at("2026-12-07T08:00:00Z"), end: at("2026-12-08T08:00:00Z"))
        #expect(daily.window(containing: at("2026-12-07T12:34:56Z")) == window)
        #expect(daily.window(containing: at("2026-12-08T07:59:59.999Z")) == window)
        #expect(daily.window(containing: at("2026-12-07T07:59:59.999Z")) == DigestWindow(start: at("2026-12-06T08:00:00Z"), end: at("2026-12-07T08:00:00Z")))
    }

    @Test func anInstantOnABoundaryBelongsToTheWindowItOpens() {
        for daily in [schedule("P1D", at: "08:00", in: "UTC"), schedule("P1D", at: "08:00", in: "Europe/Brussels"), schedule("PT1H", at: "08:00", in: "Asia/Kolkata")] {
            let window = daily.window(containing: at("2026-12-07T12:00:00Z"))
            #expect(daily.window(containing: window.start) == window)
            #expect(daily.window(containing: window.end).start == window.end)
            #expect(daily.window(containing: window.start.adding(milliseconds: -1)).end == window.start)
        }
    }

    @Test func theDefaultsAreMidnightUTC() {
        let plain = DigestSchedule(below: .medium, every: .days(1))
        #expect(plain.at.description == "00:00")
        #expect(plain.timezone == "UTC")
        #expect(plain.window(containing: at("2026-12-07T23:59:59Z")) == DigestWindow(start: at("2026-12-07T00:00:00Z"), end: at("2026-12-08T00:00:00Z")))
    }

    @Test func aDailyWindowInBrusselsHas23HoursWhenTheClocksGoForward() {
        let daily = schedule("P1D", at: "08:00", in: "Europe/Brussels")
        let window = daily.window(containing: at("2026-03-28T20:00:00Z"))
        #expect(window == DigestWindow(start: at("2026-03-28T07:00:00Z"), end: at("2026-03-29T06:00:00Z")))
        #expect(window.end.milliseconds - window.start.milliseconds == 23 * hour)
        // 08:00 local either side of the change.
        #expect(window.start == at("2026-03-28T08:00:00+01:00"))
        #expect(window.end == at("2026-03-29T08:00:00+02:00"))
        #expect(daily.window(containing: window.end) == DigestWindow(start: at("2026-03-29T06:00:00Z"), end: at("2026-03-30T06:00:00Z")))
    }

    @Test func aDailyWindowInBrusselsHas25HoursWhenTheClocksGoBack() {
        let daily = schedule("P1D", at: "08:00", in: "Europe/Brussels")
        let window = daily.window(containing: at("2026-10-25T01:30:00Z"))
        #expect(window == DigestWindow(start: at("2026-10-24T06:00:00Z"), end: at("2026-10-25T07:00:00Z")))
        #expect(window.end.milliseconds - window.start.milliseconds == 25 * hour)
        #expect(daily.window(containing: window.end) == DigestWindow(start: at("2026-10-25T07:00:00Z"), end: at("2026-10-26T07:00:00Z")))
    }

    /// The hourly windows of one local day (from `at` to the next day's `at`).
    private func windows(_ s: DigestSchedule, from start: Timestamp) -> [DigestWindow] {
        var windows = [s.window(containing: start)]
        while windows.count < 30 {
            let next = s.window(containing: windows[windows.count - 1].end)
            guard next.start.milliseconds - start.milliseconds < 30 * hour else { break }
            windows.append(next)
        }
        return windows
    }

    @Test func hourlyWindowsInBrusselsCountTheSkippedHourOnce() {
        let hourly = schedule("PT1H", at: "00:00", in: "Europe/Brussels")
        // Sunday 29 March 2026: midnight CET is 23:00Z the day before, the next midnight (CEST) 22:00Z.
        let day = windows(hourly, from: at("2026-03-28T23:00:00Z")).filter { $0.start < at("2026-03-29T22:00:00Z") }
        #expect(day.count == 23)
        #expect(day.allSatisfy { $0.end.milliseconds - $0.start.milliseconds == hour })
        #expect(day.last?.end == at("2026-03-30T00:00:00+02:00"))
        // 01:59:59 CET is followed by 03:00 CEST: one window holds both sides of the jump.
        #expect(hourly.window(containing: at("2026-03-29T01:59:59+01:00")) == DigestWindow(start: at("2026-03-29T01:00:00+01:00"), end: at("2026-03-29T03:00:00+02:00")))
    }

    @Test func hourlyWindowsInBrusselsSeparateTheRepeatedHour() {
        let hourly = schedule("PT1H", at: "00:00", in: "Europe/Brussels")
        // Sunday 25 October 2026: 25 hours from midnight CEST (22:00Z) to midnight CET (23:00Z).
        let day = windows(hourly, from: at("2026-10-24T22:00:00Z")).filter { $0.start < at("2026-10-25T23:00:00Z") }
        #expect(day.count == 25)
        #expect(day.allSatisfy { $0.end.milliseconds - $0.start.milliseconds == hour })
        #expect(day.last?.end == at("2026-10-26T00:00:00+01:00"))
        // 02:30 happens twice: once in CEST, once in CET, in two windows.
        let first = hourly.window(containing: at("2026-10-25T02:30:00+02:00"))
        let second = hourly.window(containing: at("2026-10-25T02:30:00+01:00"))
        #expect(first == DigestWindow(start: at("2026-10-25T00:00:00Z"), end: at("2026-10-25T01:00:00Z")))
        #expect(second == DigestWindow(start: at("2026-10-25T01:00:00Z"), end: at("2026-10-25T02:00:00Z")))
    }

    @Test func theLastWindowOfADayEndsAtTheNextDaysAt() {
        // Seven hours do not divide a day: the day's last window is cut at the next 08:00.
        let s = schedule("PT7H", at: "08:00", in: "Europe/Brussels")
        let cases: [(String, [Int64])] = [
            ("2026-03-28T08:00:00+01:00", [7, 7, 7, 2]),  // 23 hours
            ("2026-10-24T08:00:00+02:00", [7, 7, 7, 4]),  // 25 hours
            ("2026-12-07T08:00:00+01:00", [7, 7, 7, 3]),  // 24 hours
        ]
        for (start, lengths) in cases {
            let day = windows(s, from: at(start)).prefix(lengths.count)
            #expect(day.first?.start == at(start))
            #expect(day.map { ($0.end.milliseconds - $0.start.milliseconds) / hour } == lengths, "from \(start)")
            if let last = day.last { #expect(s.window(containing: last.end).start == last.end) }
        }
        #expect(windows(s, from: at("2026-03-28T08:00:00+01:00"))[3].end == at("2026-03-29T08:00:00+02:00"))
    }

    @Test func anAtInsideTheSkippedHourIsTheFirstTimeAfterIt() {
        let daily = schedule("P1D", at: "02:30", in: "Europe/Brussels")
        // 02:30 does not exist on 29 March 2026 in Brussels: that day's window opens at 03:00 CEST.
        let window = daily.window(containing: at("2026-03-29T12:00:00Z"))
        #expect(window.start == at("2026-03-29T03:00:00+02:00"))
        #expect(window.end == at("2026-03-30T02:30:00+02:00"))
        #expect(daily.window(containing: at("2026-03-29T00:59:59Z")) == DigestWindow(start: at("2026-03-28T02:30:00+01:00"), end: window.start))
        // Hourly windows that day start from 03:00 too.
        let hourly = schedule("PT1H", at: "02:30", in: "Europe/Brussels")
        #expect(hourly.window(containing: at("2026-03-29T03:10:00+02:00")) == DigestWindow(start: at("2026-03-29T03:00:00+02:00"), end: at("2026-03-29T04:00:00+02:00")))
    }

    @Test func anAtInsideAHalfHourGapIsTheChangesInstant() {
        // Lord Howe Island moves its clocks by half an hour: on 4 October 2026, 02:00 (+10:30)
        // becomes 02:30 (+11:00), so 02:15 does not exist that day.
        let daily = schedule("P1D", at: "02:15", in: "Australia/Lord_Howe")
        let window = daily.window(containing: at("2026-10-04T12:00:00Z"))
        #expect(window == DigestWindow(start: at("2026-10-04T02:30:00+11:00"), end: at("2026-10-05T02:15:00+11:00")))
        #expect(window.end.milliseconds - window.start.milliseconds == 23 * hour + hour * 3 / 4)
        let hourly = schedule("PT1H", at: "02:15", in: "Australia/Lord_Howe")
        #expect(hourly.window(containing: at("2026-10-04T13:46:03Z")) == DigestWindow(start: at("2026-10-05T00:30:00+11:00"), end: at("2026-10-05T01:30:00+11:00")))
    }

    @Test func aSkippedMidnightIsTheChangesInstant() {
        // Chile moves its clocks at midnight: on 6 September 2026, 00:00 (-04:00) is 01:00 (-03:00).
        let daily = schedule("P1D", at: "00:00", in: "America/Santiago")
        let window = daily.window(containing: at("2026-09-06T12:00:00Z"))
        #expect(window == DigestWindow(start: at("2026-09-06T01:00:00-03:00"), end: at("2026-09-07T00:00:00-03:00")))
    }

    @Test func anAtInsideTheRepeatedHourIsItsFirstOccurrence() {
        let daily = schedule("P1D", at: "02:30", in: "Europe/Brussels")
        let window = daily.window(containing: at("2026-10-25T12:00:00Z"))
        #expect(window.start == at("2026-10-25T02:30:00+02:00"))
        #expect(window.end == at("2026-10-26T02:30:00+01:00"))
        // The second 02:30 (CET) is inside the window the first one opened.
        #expect(daily.window(containing: at("2026-10-25T02:30:00+01:00")) == window)
    }

    @Test func weeklyWindowsStartOnMondays() {
        let weekly = schedule("P7D", at: "08:00", in: "UTC")
        // Wednesday 9 December 2026.
        #expect(weekly.window(containing: at("2026-12-09T15:00:00Z")) == DigestWindow(start: at("2026-12-07T08:00:00Z"), end: at("2026-12-14T08:00:00Z")))
        // Monday before 08:00 is still last week's.
        #expect(weekly.window(containing: at("2026-12-07T07:00:00Z")) == DigestWindow(start: at("2026-11-30T08:00:00Z"), end: at("2026-12-07T08:00:00Z")))
        // Across the spring change in Brussels: Monday 23 March 08:00 CET to Monday 30 March 08:00 CEST.
        let brussels = schedule("P7D", at: "08:00", in: "Europe/Brussels")
        let window = brussels.window(containing: at("2026-03-29T12:00:00Z"))
        #expect(window == DigestWindow(start: at("2026-03-23T08:00:00+01:00"), end: at("2026-03-30T08:00:00+02:00")))
        #expect(window.end.milliseconds - window.start.milliseconds == 167 * hour)
        // Fortnightly windows also open on Mondays, every other one.
        let fortnightly = schedule("P2W", at: "08:00", in: "Europe/Brussels")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Brussels")!
        var starts = Set<Timestamp>()
        var time = at("2026-01-01T00:00:00Z")
        while time < at("2027-01-01T00:00:00Z") {
            let w = fortnightly.window(containing: time)
            #expect(calendar.component(.weekday, from: w.start.date) == 2, "\(w.start) is not a Monday")
            #expect(calendar.component(.hour, from: w.start.date) == 8)
            starts.insert(w.start)
            time = time.adding(milliseconds: 24 * hour)
        }
        let sorted = starts.sorted()
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { abs($1.milliseconds - $0.milliseconds - 14 * 24 * hour) <= hour })
    }

    /// Windows tile time: over a whole year, sampled every few hours, in zones with one-hour,
    /// half-hour and no daylight-saving changes and a half-hour offset, each sample lies in
    /// its window, the window after it starts where it ends, and no window is longer than
    /// its period (calendar days allowing the change of the day).
    @Test(arguments: ["Europe/Brussels", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago"])
    func windowsAreContiguousAllYear(zone: String) {
        let schedules = [
            schedule("P1D", at: "08:00", in: zone), schedule("P1D", at: "02:30", in: zone), schedule("PT1H", at: "02:15", in: zone),
            schedule("PT7H", at: "00:00", in: zone), schedule("P7D", at: "01:45", in: zone), schedule("P1D", at: "00:00", in: zone),
        ]
        for s in schedules {
            var dailyLengths: [Int64: Int] = [:]
            var seen = Set<DigestWindow>()
            var time = at("2026-01-01T00:00:00Z")
            var samples = 0
            // 4 h 7 min 13 s apart: every daily window is sampled and the offsets walk round the clock.
            while time < at("2027-01-01T00:00:00Z"), samples < 3000 {
                samples += 1
                let w = s.window(containing: time)
                let length = w.end.milliseconds - w.start.milliseconds
                #expect(w.start <= time && time < w.end, "\(s.every.iso8601) \(zone): \(time) outside \(w.start)–\(w.end)")
                #expect(s.window(containing: w.end).start == w.end, "\(s.every.iso8601) \(zone): gap or overlap after \(w.end)")
                #expect(s.window(containing: w.start.adding(milliseconds: -1)).end == w.start, "\(s.every.iso8601) \(zone): gap or overlap before \(w.start)")
                switch s.every {
                case .seconds(let seconds): #expect(length > 0 && length <= seconds * 1000)
                case .days(let n): #expect(abs(length - Int64(n) * 24 * hour) <= hour, "\(s.every.iso8601) \(zone): \(w.start)–\(w.end)")
                }
                if s.every == .days(1), seen.insert(w).inserted { dailyLengths[length, default: 0] += 1 }
                time = time.adding(milliseconds: 4 * hour + 7 * 60_000 + 13_000)
            }
            #expect(samples > 2000)
            guard s.every == .days(1), s.at == TimeOfDay(hour: 8, minute: 0) else { continue }
            // At 08:00, outside any change: one short and one long day a year where the clocks
            // change, none where they do not.
            let expected: [Int64: Int] = switch zone {
            case "Asia/Kolkata": [24 * hour: seen.count]
            case "Australia/Lord_Howe": [24 * hour: seen.count - 2, 24 * hour - hour / 2: 1, 24 * hour + hour / 2: 1]
            default: [24 * hour: seen.count - 2, 23 * hour: 1, 25 * hour: 1]
            }
            #expect(dailyLengths == expected, "\(s.at) \(zone)")
            #expect(seen.count >= 365)
        }
    }
}
