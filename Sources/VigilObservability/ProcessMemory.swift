import Foundation

/// This process's resident memory, from `/proc/self/status`, for `/metrics` and the benches.
public enum ProcessMemory {
    /// Resident set size in bytes (`VmRSS`) of this process, or of process `pid`; 0 where
    /// `/proc` is not readable.
    public static func residentBytes(of pid: Int32? = nil) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid.map(String.init) ?? "self")/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }
}
