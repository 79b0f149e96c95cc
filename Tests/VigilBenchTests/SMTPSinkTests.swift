import Foundation
import Synchronization
import Testing
import VigilTestSupport
@testable import VigilBench

/// The crash bench's SMTP receiver against a real SMTP client (the `curl` tool, libcurl's
/// sender, as the service's is): it takes the message and reports its recipients and the
/// delivery and alert ids, and drops ids of the wrong shape rather than keep them verbatim.
@Suite struct SMTPSinkTests {
    static let curl = ["/usr/bin/curl", "/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Sends `message` to `recipients` through `curl` and returns what the sink reported.
    func send(_ message: String, to recipients: [String]) throws -> [SMTPSink.Message] {
        let received = Mutex<[SMTPSink.Message]>([])
        let sink = try SMTPSink { message in received.withLock { $0.append(message) } }
        defer { sink.stop() }
        let arguments = ["--silent", "--show-error", "--max-time", "20", "--url", "smtp://127.0.0.1:\(sink.port)", "--mail-from", "alerts@vigil.test"]
            + recipients.flatMap { ["--mail-rcpt", $0] } + ["--upload-file", "-"]
        let output = try VigilCommand.run(executable: try #require(Self.curl), arguments, stdin: message, timeout: 30)
        #expect(output.status == 0, "curl: \(output.stderr)")
        let deadline = Date().addingTimeInterval(10)
        while received.withLock({ $0.isEmpty }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return received.withLock { $0 }
    }

    @Test(.enabled(if: curl != nil)) func aMessageReportsItsRecipientsAndIds() throws {
        let message = [
            "From: Vigil <alerts@vigil.test>", "To: desk@example.org", "Subject: test",
            "X-Vigil-Delivery: dlv_01jexample0000000000000000abcdef0123456789", "X-Vigil-Alert:",
            "  01JEXAMPLE0000000000000000", "", ".leading dot, stuffed by curl", "body", "",
        ].joined(separator: "\r\n")
        let messages = try send(message, to: ["Desk@Example.org", "other@example.org"])
        #expect(messages == [
            SMTPSink.Message(recipients: ["desk@example.org", "other@example.org"], deliveryID: "dlv_01jexample0000000000000000abcdef0123456789", alertID: "01JEXAMPLE0000000000000000")
        ])
    }

    @Test(.enabled(if: curl != nil)) func idsOfAnotherShapeAreNotKept() throws {
        let message = ["From: a@vigil.test", "X-Vigil-Delivery: dlv_<script>alert(1)</script>", "", "body", ""].joined(separator: "\r\n")
        let messages = try send(message, to: ["desk@example.org"])
        #expect(messages.count == 1 && messages.first?.deliveryID == nil && messages.first?.alertID == nil)
    }

    @Test func recipientAddressesAreCheckedForShape() {
        #expect(SMTPSink.address(in: Array("RCPT TO:<Desk@Example.org>".utf8)) == "desk@example.org")
        #expect(SMTPSink.address(in: Array("RCPT TO:<no-at-sign>".utf8)) == nil)
        #expect(SMTPSink.address(in: Array("RCPT TO:<a b@example.org>".utf8)) == nil)
        #expect(SMTPSink.address(in: Array("RCPT TO:<>".utf8)) == nil)
        #expect(SMTPSink.address(in: Array("RCPT TO:<\(String(repeating: "a", count: 300))@example.org>".utf8)) == nil)
    }
}
