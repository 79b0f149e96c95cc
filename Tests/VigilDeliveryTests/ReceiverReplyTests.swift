import Dispatch
import Foundation
import Testing
import VigilCore
@testable import VigilDelivery
import VigilTestSupport

/// A mail relay on Python's standard library that refuses every recipient with a reply
/// quoting a defender's name, as a relay may quote what it was sent.
let quotingRelay = #"""
import socketserver
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 relay.test ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250-relay.test\r\n250 SIZE 1000000\r\n")
            elif verb == b"MAIL":
                self.wfile.write(b"250 OK\r\n")
            elif verb == b"RCPT":
                self.wfile.write(b"550 5.1.1 Ilse Vandermeulen RELAY-QUOTE-MARKER: no such mailbox\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 RELAY-QUOTE-MARKER unknown\r\n")
class S(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
s = S(("127.0.0.1", 0), H)
print("READY", s.server_address[1], flush=True)
s.serve_forever()
"""#

@Suite struct ReceiverReplyTests {
    /// Issue 17 §3: a relay's reply is a receiver's reply too; only its code, class and the
    /// time taken are kept.
    @Test func aMailRelaysReplyTextIsNeverKept() throws {
        let relay = try HelperProcess(script: quotingRelay)
        let sender = SMTPSender(url: "smtp://127.0.0.1:\(relay.port)", from: "Vigil <alerts@vigil.test>", timeoutMilliseconds: 5000)
        let message = EmailMessage(
            from: sender.from, to: ["desk@example.org"], subject: "s", messageID: "m@vigil.test", date: Timestamp(milliseconds: 0), text: "t", html: "<p>t</p>")
        guard case .failure(.permanent(let reason)) = sender.send(message) else {
            Issue.record("a 550 is a permanent refusal")
            return
        }
        #expect(reason.hasPrefix("SMTP 550 (permanent refusal) after ") && reason.hasSuffix(" ms"), "\(reason)")
        #expect(!reason.contains("RELAY-QUOTE-MARKER") && !reason.contains("Vandermeulen"))
    }

    @Test func aClosedRelayIsAClassNotAnExplanation() throws {
        let port: Int
        do { port = try HelperProcess(script: quotingRelay).port }  // started and stopped: nobody listens
        let sender = SMTPSender(url: "smtp://127.0.0.1:\(port)", from: "alerts@vigil.test", timeoutMilliseconds: 2000)
        let message = EmailMessage(
            from: sender.from, to: ["desk@example.org"], subject: "s", messageID: "m@vigil.test", date: Timestamp(milliseconds: 0), text: "t", html: "<p>t</p>")
        guard case .failure(.transient(let reason)) = sender.send(message) else {
            Issue.record("a closed relay is worth trying again")
            return
        }
        #expect(reason.hasPrefix("mail relay: connection refused after "), "\(reason)")
    }
}

@Suite struct LegacyLastErrorTests {
    /// Errors recorded before issue 17 carried the receiver's reply; they are shown up to
    /// the status, on either backend, in the deliveries of an alert and the dead letters.
    @Test(arguments: [
        ("the receiver answered 500: {\"defender\":{\"name\":\"Ilse Vandermeulen\"}}", "the receiver answered 500"),
        ("gave up after 9 attempts: the receiver answered 503: Ilse Vandermeulen", "gave up after 9 attempts: the receiver answered 503"),
        ("the receiver refused with 400: Ilse Vandermeulen", "the receiver refused with 400"),
        ("the receiver answered 301 (redirects are not followed)", "the receiver answered 301 (redirects are not followed)"),
        ("HTTP 500 (server error) after 12 ms", "HTTP 500 (server error) after 12 ms"),
        ("the receiver answered 5000: x", "the receiver answered 5000: x"),
    ])
    func legacyRepliesAreCutAtTheStatus(stored: String, shown: String) {
        #expect(DeliveryRecord.withoutReceiverText(stored) == shown)
    }
}
