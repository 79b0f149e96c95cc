import Foundation

/// The CPU time this process has used, user and system, over all its threads, for
/// `/metrics` and the benches: on a shared machine CPU per operation moves less from run
/// to run than wall-clock time does.
public enum ProcessCPU {
    /// Seconds of CPU used since the process started (`getrusage`).
    public static func seconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
