import Foundation

/// `kcat`, Debian's command-line Kafka client, run as an outside producer and consumer.
public enum Kcat {
    /// Writes `value` (one message) to `topic` with `key` and `headers`; returns kcat's exit status.
    @discardableResult
    public static func produce(_ bootstrap: String, topic: String, key: String? = nil, headers: [(String, String)] = [], value: String) throws -> Int32 {
        var arguments = ["-b", bootstrap, "-P", "-t", topic]
        if let key { arguments += ["-k", key] }
        for (name, text) in headers { arguments += ["-H", "\(name)=\(text)"] }
        // One message per run, whatever newlines it holds: the input ends the message.
        arguments += ["-D", "\u{1}"]
        return try run(arguments, stdin: value).status
    }

    /// Every message of `topic` from the beginning to its current end, formatted with
    /// kcat's `-f` (`%k` key, `%s` value, `%S` value size, -1 for a tombstone).
    public static func consume(_ bootstrap: String, topic: String, format: String = "%s\\n") throws -> String {
        try run(["-b", bootstrap, "-C", "-t", topic, "-e", "-q", "-f", format], stdin: nil).stdout
    }

    private static func run(_ arguments: [String], stdin: String?, timeout: Double = 20) throws -> (status: Int32, stdout: String) {
        let output = try VigilCommand.run(executable: "/usr/bin/kcat", arguments, stdin: stdin, timeout: timeout)
        return (output.status, output.stdout)
    }
}
