/// Why `vigil bench crash` exits non-zero: the service broke its durability contract.
public enum CrashFault: Error, CustomStringConvertible {
    /// The tally of the run was not sound (see `CrashTally.isSound`).
    case unsound(CrashTally, keptDataDir: String?)

    /// What was broken, and where to look.
    public var description: String {
        switch self {
        case .unsound(let t, let kept):
            "the crash bench found a fault: \(t.lost.count) acknowledged alerts lost, \(t.missing) deliveries missing, \(t.strays) misrouted, "
                + "\(t.duplicatesUnderSecondID) repeats under a second delivery id; rerun with the same --seed to reproduce; the service logs are in \(kept ?? "the run's data directory")"
        }
    }
}
