import VigilCore

/// A receiver's `Retry-After` (RFC 9110 §10.2.3), read in one place and never trusted for
/// arithmetic: `delay-seconds` (digits only) or an HTTP date in any of its three forms
/// (IMF-fixdate, the obsolete RFC 850 and asctime forms).
///
/// A value that is negative, not exactly one of those forms, or asks for more than
/// `longestMilliseconds` is absurd and treated as absent (the backoff alone decides). A
/// date already past asks for no wait. The retry policy then clamps what is left to its cap
/// (`RetryPolicy.delay`), so no receiver can push a delivery past the schedule's longest
/// backoff.
public enum RetryAfter {
    /// The longest wait a receiver may ask for and be taken seriously: a year. Beyond it a
    /// value is absurd, and treated as absent.
    public static let longestMilliseconds: Int64 = 365 * 86_400_000

    /// The wait, in milliseconds from `now`, that the header value `value` asks for; `nil`
    /// when it is absent, absurd, negative or unparsable. Surrounding spaces and tabs (and a
    /// header line's CR LF) are not part of the value.
    public static func milliseconds(_ value: some Collection<UInt8>, now: Timestamp) -> Int64? {
        guard value.count <= 64 else { return nil }  // the longest valid form is 29 bytes
        var bytes = Array(value)
        while let last = bytes.last, last == 0x20 || last == 0x09 || last == 0x0D || last == 0x0A { bytes.removeLast() }
        let start = bytes.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? bytes.endIndex
        bytes.removeFirst(start)
        guard let first = bytes.first else { return nil }
        if (0x30...0x39).contains(first) && bytes.allSatisfy({ (0x30...0x39).contains($0) }) {
            return delaySeconds(bytes)
        }
        guard let date = httpDate(bytes) else { return nil }
        let wait = DeliveryArithmetic.difference(date, now.milliseconds)
        if wait <= 0 { return 0 }
        return wait > longestMilliseconds ? nil : wait
    }

    /// The same for a header value held as text.
    public static func milliseconds(_ value: String, now: Timestamp) -> Int64? { milliseconds(Array(value.utf8), now: now) }

    /// `1*DIGIT` seconds in milliseconds, `nil` beyond `longestMilliseconds`.
    private static func delaySeconds(_ digits: [UInt8]) -> Int64? {
        // A year is 8 digits of seconds; leading zeros aside, more digits are absurd
        // (and would overflow: 9223372036854775807 seconds killed the process).
        let significant = digits.drop { $0 == 0x30 }
        guard significant.count <= 9 else { return nil }
        let seconds = significant.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        let milliseconds = seconds * 1000  // at most 999,999,999,000: no overflow
        return milliseconds > longestMilliseconds ? nil : milliseconds
    }

    private static let months: [[UInt8]] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].map { Array($0.utf8) }
    private static let shortDays: [[UInt8]] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map { Array($0.utf8) }
    private static let longDays: [[UInt8]] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"].map { Array($0.utf8) }

    /// An HTTP date in milliseconds since the epoch, or `nil`.
    ///
    ///     Sun, 06 Nov 1994 08:49:37 GMT    IMF-fixdate
    ///     Sunday, 06-Nov-94 08:49:37 GMT   RFC 850
    ///     Sun Nov  6 08:49:37 1994         asctime
    static func httpDate(_ b: [UInt8]) -> Int64? {
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= b.count, !range.isEmpty else { return nil }
            var n: Int64 = 0
            for i in range {
                guard (0x30...0x39).contains(b[i]) else { return nil }
                n = n * 10 + Int64(b[i] - 0x30)
            }
            return n
        }
        func month(at i: Int) -> Int64? {
            guard i + 3 <= b.count, let index = months.firstIndex(of: Array(b[i..<i + 3])) else { return nil }
            return Int64(index + 1)
        }
        func byte(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        /// "hh:mm:ss" at `i`.
        func clock(at i: Int) -> (Int64, Int64, Int64)? {
            guard byte(i + 2, ":"), byte(i + 5, ":"), let h = number(i..<i + 2), let m = number(i + 3..<i + 5), let s = number(i + 6..<i + 8)
            else { return nil }
            return (h, m, s)
        }
        var year: Int64, mon: Int64, day: Int64, time: (Int64, Int64, Int64)
        if b.count == 29, shortDays.contains(Array(b[0..<3])), byte(3, ","), byte(4, " "), byte(7, " "), byte(11, " "), byte(16, " "),
            byte(25, " "), Array(b[26..<29]) == Array("GMT".utf8),
            let d = number(5..<7), let m = month(at: 8), let y = number(12..<16), let t = clock(at: 17) {
            (year, mon, day, time) = (y, m, d, t)
        } else if b.count == 24, shortDays.contains(Array(b[0..<3])), byte(3, " "), byte(7, " "), byte(10, " "), byte(19, " "),
            let m = month(at: 4), let d = b[8] == 0x20 ? number(9..<10) : number(8..<10), let t = clock(at: 11), let y = number(20..<24) {
            (year, mon, day, time) = (y, m, d, t)
        } else if let comma = b.firstIndex(of: UInt8(ascii: ",")), longDays.contains(Array(b[0..<comma])), b.count == comma + 24,
            byte(comma + 1, " "), byte(comma + 4, "-"), byte(comma + 8, "-"), byte(comma + 11, " "), byte(comma + 20, " "),
            Array(b[(comma + 21)...]) == Array("GMT".utf8),
            let d = number(comma + 2..<comma + 4), let m = month(at: comma + 5), let yy = number(comma + 9..<comma + 11),
            let t = clock(at: comma + 12) {
            // RFC 9110: a two-digit year more than 50 years ahead is in the past century.
            let thisYear = 1970 + Timestamp.now().milliseconds / 31_556_952_000
            year = 2000 + yy > thisYear + 50 ? 1900 + yy : 2000 + yy
            (mon, day, time) = (m, d, t)
        } else {
            return nil
        }
        let (hour, minute, second) = time
        guard (1...12).contains(mon), (1...daysIn(month: mon, year: year)).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }
        // Four digits at most: the result is a few times 10^14, far from overflowing.
        let days = daysSinceEpoch(year: year, month: mon, day: day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + min(second, 59) * 1000
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
