import Foundation

/// The Python that `deploy/setup.sh` prepared (with `aiosmtpd` and `standardwebhooks`):
/// `VIGIL_PYTHON`, else the repository's `.venv`, else `python3` on PATH.
public enum PythonHelper {
    public static var executable: String {
        if let path = ProcessInfo.processInfo.environment["VIGIL_PYTHON"] { return path }
        var directory = FileManager.default.currentDirectoryPath
        for _ in 0..<6 {
            let candidate = (directory as NSString).appendingPathComponent(".venv/bin/python3")
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return "/usr/bin/env"
    }

    /// Runs `script` with `arguments`, feeding `stdin`; returns status and output.
    public static func run(_ script: String, arguments: [String] = [], stdin: String = "", timeout: Double = 30) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        let python = executable
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = (python == "/usr/bin/env" ? ["python3"] : []) + ["-c", script] + arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (process.terminationStatus,
                String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
}

/// A background helper process (a webhook receiver, an SMTP server) that prints
/// `READY <port>` when listening, and is killed when released.
/// `@unchecked Sendable`: immutable after `init`; the process is only signalled and awaited.
public final class HelperProcess: @unchecked Sendable {
    public let port: Int
    private let process: Process
    public let output: String

    public convenience init(script: String, arguments: [String] = [], timeout: Double = 20) throws {
        try self.init(pythonArguments: ["-u", "-c", script] + arguments, timeout: timeout)
    }

    /// Runs the Python file at `path` with `arguments`.
    public convenience init(file path: String, arguments: [String] = [], timeout: Double = 20) throws {
        try self.init(pythonArguments: ["-u", path] + arguments, timeout: timeout)
    }

    private init(pythonArguments: [String], timeout: Double) throws {
        let process = Process()
        let python = PythonHelper.executable
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = (python == "/usr/bin/env" ? ["python3"] : []) + pythonArguments
        let directory = TemporaryDirectory.make("vigil-helper")
        output = (directory as NSString).appendingPathComponent("out.log")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: output)
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(timeout)
        var found: Int?
        let logPath = output
        func look() {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }) { found = Int(line.dropFirst(6)) }
        }
        while Date() < deadline, found == nil, process.isRunning {
            look()
            if found == nil { usleep(10_000) }
        }
        if found == nil { look() }  // a helper may print READY and exit before the loop looked
        guard let found else {
            process.terminate()
            throw HelperFailure(description: "helper did not start: " + ((try? String(contentsOfFile: output, encoding: .utf8)) ?? ""))
        }
        port = found
    }

    /// Everything the helper printed.
    public var log: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    public struct HelperFailure: Error, CustomStringConvertible { public let description: String }
}
