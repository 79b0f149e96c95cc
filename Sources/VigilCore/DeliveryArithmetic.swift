/// Saturating arithmetic on delivery times and attempt counts. The operands come from
/// receivers' replies (`Retry-After`), the configuration and records read back from the
/// queue or a topic; none of them may trap the process, so sums stop at the ends of
/// `Int64` instead of overflowing, and a `Double` becomes an `Int64` only within range.
public enum DeliveryArithmetic {
    /// `a + b`, or `Int64.max` / `Int64.min` where it would overflow.
    public static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : result
    }

    /// `a - b`, or `Int64.max` / `Int64.min` where it would overflow.
    public static func difference(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? (b < 0 ? .max : .min) : result
    }

    /// `time` moved by `milliseconds`, stopping at the ends of the representable range.
    public static func time(_ time: Timestamp, plus milliseconds: Int64) -> Timestamp {
        Timestamp(milliseconds: sum(time.milliseconds, milliseconds))
    }

    /// `seconds` in whole milliseconds (rounded as `rule` says), clamped to `Int64`'s range;
    /// not a number is 0.
    public static func milliseconds(fromSeconds seconds: Double, rounding rule: FloatingPointRoundingRule = .up) -> Int64 {
        let milliseconds = (seconds * 1000).rounded(rule)
        if milliseconds.isNaN { return 0 }
        if milliseconds >= 9_223_372_036_854_775_807.0 { return .max }  // 2^63 as a Double
        if milliseconds <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(milliseconds)
    }

    /// One more attempt than `attempts`, stopping at `Int.max`.
    public static func incremented(_ attempts: Int) -> Int { attempts == .max ? .max : attempts + 1 }
}
