import Foundation
import Synchronization

/// A request's way back to its client. Call `send` exactly once, from any thread; later
/// calls are ignored.
public final class HTTPResponder: Sendable {
    private let connection: HTTPConnection?
    private let sequence: UInt64
    private let head: Bool
    /// Whether `send` has been called.
    private let sent = Mutex(false)
    private let capture: (@Sendable (HTTPResponse) -> Void)?

    init(connection: HTTPConnection, sequence: UInt64, head: Bool) {
        self.connection = connection
        self.sequence = sequence
        self.head = head
        capture = nil
    }

    /// A responder that hands the response to `capture` instead of a socket, for calling
    /// handlers directly in tests and benchmarks.
    public init(capture: @escaping @Sendable (HTTPResponse) -> Void) {
        connection = nil
        sequence = 0
        head = false
        self.capture = capture
    }

    /// Sends `response`.
    public func send(_ response: HTTPResponse) {
        let first = sent.withLock { sent in
            defer { sent = true }
            return !sent
        }
        guard first else { return }
        if let capture {
            capture(response)
            return
        }
        guard let connection else { return }
        let sequence = self.sequence, head = self.head
        connection.queue.async { connection.respond(response, sequence: sequence, head: head) }
    }
}

/// Something that answers requests: the router, or any closure.
public typealias HTTPHandler = @Sendable (HTTPRequest, HTTPResponder) -> Void

/// Decides from a request's head alone (method, target, headers, remoteAddress; the body is not read yet)
/// whether the server goes on to read the body. A response refuses the request: it is sent at once with
/// `connection: close`, no `100 Continue` goes out, and the body is never read.
///
/// It is called once per request, on the connection's queue, before the handler; keep it quick.
public typealias HTTPAdmission = @Sendable (HTTPRequest) -> HTTPResponse?
