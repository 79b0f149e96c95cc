import CCurl
import Foundation
import VigilCore

/// What a receiver answered: its status, when it asked to be called again, and how long
/// the exchange took. Nothing the receiver wrote is kept: not its body, not its reason
/// phrase, not its headers but `Retry-After`, read as a number.
public struct HTTPOutcome: Sendable, Equatable {
    /// The status code.
    public let status: Int
    /// The wait `Retry-After` asked for, in milliseconds, when it was sensible (`RetryAfter`).
    public let retryAfterMilliseconds: Int64?
    /// How long the exchange took, from the start of the transfer to its end.
    public let latencyMilliseconds: Int64

    /// An outcome, as a receiver's answer is read.
    public init(status: Int, retryAfterMilliseconds: Int64?, latencyMilliseconds: Int64 = 0) {
        self.status = status
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.latencyMilliseconds = latencyMilliseconds
    }
}

/// Why a request got no usable HTTP answer: a fixed class, never text from the receiver or
/// from libcurl's error buffer (which can quote what the receiver sent).
public enum TransportFailure: Sendable, Equatable, CustomStringConvertible {
    /// The host name did not resolve.
    case unresolvable
    /// The receiver's address refused the connection.
    case refused
    /// The connection could not be made (unreachable, no route, ...).
    case unreachable
    /// The TLS handshake or the certificate check failed.
    case tls
    /// The connection broke while the reply was read.
    case reset
    /// The connection closed without a reply.
    case noReply
    /// The request could not be sent.
    case sendFailed
    /// The reply was not HTTP libcurl could read.
    case malformedReply
    /// The reply's headers went past the bytes Vigil reads of a reply.
    case replyTooLarge
    /// The connection went to another address than the one checked (`AddressPolicy`).
    case wrongAddress
    /// libcurl could not start the request.
    case notStarted
    /// Any other libcurl failure, by its code.
    case other(code: Int)

    public var description: String {
        switch self {
        case .unresolvable: "host not found"
        case .refused: "connection refused"
        case .unreachable: "connection failed"
        case .tls: "TLS failure"
        case .reset: "connection reset"
        case .noReply: "connection closed without a reply"
        case .sendFailed: "sending failed"
        case .malformedReply: "malformed reply"
        case .replyTooLarge: "reply headers too large"
        case .wrongAddress: "connected to another address than the checked one"
        case .notStarted: "libcurl could not start the request"
        case .other(let code): "transport error (libcurl code \(code))"
        }
    }
}

extension TransportFailure {
    /// The class of libcurl's `code` for a transfer on `handle` that failed.
    init(_ code: CURLcode, handle: UnsafeMutableRawPointer) {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: self = .unresolvable
        case CURLE_COULDNT_CONNECT:
            var error = 0
            _ = vigil_curl_getinfo_long(handle, CURLINFO_OS_ERRNO, &error)
            self = error == Int(ECONNREFUSED) ? .refused : .unreachable
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_SHUTDOWN_FAILED,
            CURLE_USE_SSL_FAILED, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CRL_BADFILE:
            self = .tls
        case CURLE_RECV_ERROR: self = .reset
        case CURLE_GOT_NOTHING: self = .noReply
        case CURLE_SEND_ERROR: self = .sendFailed
        case CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_PARTIAL_FILE, CURLE_BAD_CONTENT_ENCODING, CURLE_HTTP3:
            self = .malformedReply
        default: self = .other(code: Int(code.rawValue))
        }
    }
}

/// Why a request got no HTTP answer, with how long it took to find out.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The receiver did not answer within the timeout.
    case timedOut(afterMilliseconds: Int64)
    /// The exchange failed.
    case failed(TransportFailure, afterMilliseconds: Int64)

    public var description: String {
        switch self {
        case .timedOut(let milliseconds): "timeout after \(milliseconds) ms"
        case .failed(let failure, let milliseconds): "\(failure) after \(milliseconds) ms"
        }
    }
}

/// One HTTP POST as libcurl's easy interface describes it: no redirects followed, no
/// proxy, a total timeout, and optionally the connection pinned to an already-checked
/// address (`CURLOPT_CONNECT_TO`, for every host and port the request may name, so libcurl
/// never resolves the host itself; the address connected to is checked again before the
/// request goes out), while TLS still verifies the host name. At most
/// `CurlTransfer.replyLimit` bytes of headers and of body are read from a reply, and none
/// is kept. `CurlTransport` runs it; every option Vigil's webhooks set on an easy handle is
/// set in this file, and the handles' lifetime is `CurlTransport`'s.
public struct CurlRequest: Sendable {
    /// Where to POST.
    public var url: String
    /// Header lines, in order.
    public var headers: [(String, String)]
    /// The body, copied into libcurl when the transfer starts.
    public var body: [UInt8]
    /// The whole exchange's time limit.
    public var timeoutMilliseconds: Int
    /// The address the host name must connect to, when the caller checked it.
    public var pinnedAddress: (host: String, port: Int, address: String)?

    /// A POST of `body` to `url`.
    public init(
        url: String, headers: [(String, String)], body: [UInt8], timeoutMilliseconds: Int,
        pinnedAddress: (host: String, port: Int, address: String)? = nil
    ) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
        self.pinnedAddress = pinnedAddress
    }
}

/// A request bound to an easy handle while it runs: the option lists it must outlive, and
/// what libcurl's callbacks hand over. Touched only on the transport's thread.
final class CurlTransfer: @unchecked Sendable {
    // @unchecked: made by `post`, handed to the transport's thread once (through its
    // Mutex), and touched only there from then on.
    /// The most bytes of a reply's headers, and separately of its body, that are read.
    /// Headers beyond it fail the request; a body beyond it ends the transfer, and the
    /// status stands (the body is never kept anyway).
    static let replyLimit = 64 * 1024

    let completion: @Sendable (Result<HTTPOutcome, TransportError>) -> Void
    private let request: CurlRequest
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var connectList: UnsafeMutablePointer<curl_slist>?
    private var headerBytes = 0
    private var bodyBytes = 0
    private var headersTooLarge = false
    private var bodyCut = false
    private var wrongAddress = false
    private var retryAfterMilliseconds: Int64?

    init(_ request: CurlRequest, completion: @escaping @Sendable (Result<HTTPOutcome, TransportError>) -> Void) {
        self.request = request
        self.completion = completion
    }

    deinit {
        curl_slist_free_all(headerList)
        curl_slist_free_all(connectList)
    }

    /// Sets `handle`'s options for this request; `handle` was reset before.
    func configure(_ handle: UnsafeMutableRawPointer) {
        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        headerList = curl_slist_append(headerList, "Expect:")  // no 100-continue round trip
        let context = Unmanaged.passUnretained(self).toOpaque()  // the transport holds the transfer while it runs
        if let pin = request.pinnedAddress {
            // Empty host and port: whatever host and port libcurl reads in the URL, it
            // connects to the checked address, and resolves nothing.
            let address = pin.address.contains(":") ? "[\(pin.address)]" : pin.address
            connectList = curl_slist_append(connectList, "::\(address):\(pin.port)")
            _ = vigil_curl_setopt_slist(handle, CURLOPT_CONNECT_TO, connectList)
            _ = vigil_curl_setopt_pointer(handle, CURLOPT_PREREQDATA, context)
            _ = vigil_curl_setopt_prereq_function(handle) { user, primary, _, _, _ in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
                return transfer.connected(to: primary.map { String(cString: $0) } ?? "") ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT
            }
        }
        _ = vigil_curl_setopt_string(handle, CURLOPT_URL, request.url)
        _ = vigil_curl_setopt_string(handle, CURLOPT_PROXY, "")  // no proxy from the environment: the pin is the connection
        _ = vigil_curl_setopt_long(handle, CURLOPT_POST, 1)
        _ = vigil_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, request.body.count)
        // COPYPOSTFIELDS copies now, so the body need not outlive this call.
        if request.body.isEmpty {
            _ = vigil_curl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "")
        } else {
            request.body.withUnsafeBytes { raw in
                _ = vigil_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress))
            }
        }
        _ = vigil_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
        _ = vigil_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        _ = vigil_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, request.timeoutMilliseconds))
        _ = vigil_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = vigil_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = vigil_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = vigil_curl_setopt_write_function(handle) { _, size, count, user in
            Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue().body(size * count)
        }
        _ = vigil_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        _ = vigil_curl_setopt_header_function(handle) { data, size, count, user in
            Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue().header(UnsafeRawBufferPointer(start: data, count: size * count))
        }
    }

    /// The outcome once libcurl reports the transfer done with `code`.
    func outcome(_ code: CURLcode, handle: UnsafeMutableRawPointer) -> Result<HTTPOutcome, TransportError> {
        var seconds = 0.0
        _ = vigil_curl_getinfo_double(handle, CURLINFO_TOTAL_TIME, &seconds)
        let latency = max(0, DeliveryArithmetic.milliseconds(fromSeconds: seconds, rounding: .toNearestOrAwayFromZero))
        var status = 0
        _ = vigil_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        // A body past the limit was cut short on purpose: the status had come, and stands.
        guard code == CURLE_OK || (code == CURLE_WRITE_ERROR && bodyCut && !headersTooLarge && status > 0) else {
            if code == CURLE_OPERATION_TIMEDOUT { return .failure(.timedOut(afterMilliseconds: latency)) }
            return .failure(.failed(failure(code, handle: handle), afterMilliseconds: latency))
        }
        return .success(HTTPOutcome(status: status, retryAfterMilliseconds: retryAfterMilliseconds, latencyMilliseconds: latency))
    }

    /// The class of a failed transfer's `code`.
    private func failure(_ code: CURLcode, handle: UnsafeMutableRawPointer) -> TransportFailure {
        if wrongAddress { return .wrongAddress }
        if headersTooLarge { return .replyTooLarge }
        return TransportFailure(code, handle: handle)
    }

    /// The prerequisite check: whether the connection went to the pinned address.
    func connected(to primary: String) -> Bool {
        guard let pin = request.pinnedAddress, !AddressPolicy.sameAddress(primary, pin.address) else { return true }
        wrongAddress = true
        return false
    }

    /// Counts `count` body bytes, drops them, and ends the transfer past `replyLimit`.
    private func body(_ count: Int) -> Int {
        bodyBytes += min(count, Self.replyLimit + 1)  // at most the limit before, so this cannot overflow
        guard bodyBytes <= Self.replyLimit else {
            bodyCut = true
            return 0  // not what libcurl handed over: it ends the transfer
        }
        return count
    }

    /// Reads a header line: a status line (a new response starts) and `Retry-After` matter;
    /// past `replyLimit` bytes of headers the transfer ends.
    private func header(_ bytes: UnsafeRawBufferPointer) -> Int {
        headerBytes += min(bytes.count, Self.replyLimit + 1)
        guard headerBytes <= Self.replyLimit else {
            headersTooLarge = true
            return 0
        }
        guard bytes.count > 5 else { return bytes.count }
        func lowercased(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }
        if bytes.prefix(5).map(lowercased) == Array("http/".utf8) {
            retryAfterMilliseconds = nil
            return bytes.count
        }
        let name = Array("retry-after:".utf8)
        if bytes.count > name.count, bytes.prefix(name.count).map(lowercased) == name {
            retryAfterMilliseconds = RetryAfter.milliseconds(bytes.dropFirst(name.count), now: Timestamp.now())
        }
        return bytes.count
    }
}
