/// Why `vigil bench crash` exits non-zero: the service broke its durability contract, or the
/// run asked for more than the mock Kafka cluster keeps.
public enum CrashFault: Error, CustomStringConvertible {
    /// On the mock cluster, a run estimated to file `estimated` alerts, more than `limit`.
    case beyondMockRetention(estimated: Int, limit: Int)
    /// The tally of the run was not sound (see `CrashTally.isSound`).
    case unsound(CrashTally, keptDataDir: String?)

    /// What was broken, and where to look.
    public var description: String {
        switch self {
        case .beyondMockRetention(let estimated, let limit):
            "this run would file about \(estimated) alerts, and librdkafka's mock cluster keeps only 5 MiB per partition, dropping the oldest "
                + "records beyond (which the bench would count as lost alerts); keep it under \(limit) with a lower --rate or fewer --kills, "
                + "or run it against a real cluster with --log kafka://HOST:PORT"
        case .unsound(let t, let kept):
            "the crash bench found a fault: \(t.lost.count) acknowledged alerts lost, \(t.missing) deliveries missing, \(t.strays) misrouted, "
                + "\(t.duplicatesUnderSecondID) repeats under a second delivery id; rerun with the same --seed to reproduce; the service logs are in \(kept ?? "the run's data directory")"
        }
    }
}
