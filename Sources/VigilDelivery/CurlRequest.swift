import CCurl
import Foundation

/// What a receiver answered.
public struct HTTPOutcome: Sendable, Equatable {
    /// The status code.
    public let status: Int
    /// `Retry-After` in milliseconds, when the receiver sent one in seconds.
    public let retryAfterMilliseconds: Int64?
    /// Up to 1 KiB of the response body, for the delivery's last error.
    public let bodyPrefix: String

    /// An outcome, as a receiver's answer is read.
    public init(status: Int, retryAfterMilliseconds: Int64?, bodyPrefix: String) {
        self.status = status
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.bodyPrefix = bodyPrefix
    }
}

/// Why a request got no HTTP answer.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The receiver did not answer within the timeout.
    case timedOut
    /// The connection failed (refused, reset, TLS, DNS), with libcurl's explanation.
    case failed(String)

    public var description: String {
        switch self {
        case .timedOut: "the receiver did not answer in time"
        case .failed(let why): why
        }
    }
}

/// One HTTP POST as libcurl's easy interface describes it: no redirects followed, a total
/// timeout, and optionally the connection pinned to an already-checked address
/// (`CURLOPT_RESOLVE`) so a second DNS answer cannot redirect it, while TLS still verifies
/// the host name. `CurlTransport` runs it; every option Vigil's webhooks set on an easy
/// handle is set in this file, and the handles' lifetime is `CurlTransport`'s.
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
final class CurlTransfer {
    let completion: @Sendable (Result<HTTPOutcome, TransportError>) -> Void
    private let request: CurlRequest
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var resolveList: UnsafeMutablePointer<curl_slist>?
    private var body: [UInt8] = []
    private var retryAfterMilliseconds: Int64?

    init(_ request: CurlRequest, completion: @escaping @Sendable (Result<HTTPOutcome, TransportError>) -> Void) {
        self.request = request
        self.completion = completion
    }

    deinit {
        curl_slist_free_all(headerList)
        curl_slist_free_all(resolveList)
    }

    /// Sets `handle`'s options for this request; `handle` was reset before.
    func configure(_ handle: UnsafeMutableRawPointer) {
        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        headerList = curl_slist_append(headerList, "Expect:")  // no 100-continue round trip
        if let pin = request.pinnedAddress {
            resolveList = curl_slist_append(resolveList, "\(pin.host):\(pin.port):\(pin.address)")
            _ = vigil_curl_setopt_slist(handle, CURLOPT_RESOLVE, resolveList)
        }
        let context = Unmanaged.passUnretained(self).toOpaque()  // the transport holds the transfer while it runs
        _ = vigil_curl_setopt_string(handle, CURLOPT_URL, request.url)
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
        _ = vigil_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, request.timeoutMilliseconds)
        _ = vigil_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = vigil_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = vigil_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = vigil_curl_setopt_write_function(handle) { data, size, count, user in
            Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue().append(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }
        _ = vigil_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        _ = vigil_curl_setopt_header_function(handle) { data, size, count, user in
            Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue().header(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }
    }

    /// The outcome once libcurl reports the transfer done with `code`.
    func outcome(_ code: CURLcode, handle: UnsafeMutableRawPointer) -> Result<HTTPOutcome, TransportError> {
        guard code == CURLE_OK else {
            if code == CURLE_OPERATION_TIMEDOUT { return .failure(.timedOut) }
            return .failure(.failed(String(cString: curl_easy_strerror(code))))
        }
        var status = 0
        _ = vigil_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPOutcome(status: status, retryAfterMilliseconds: retryAfterMilliseconds, bodyPrefix: String(decoding: body, as: UTF8.self)))
    }

    private func append(_ bytes: UnsafeRawBufferPointer) {
        if body.count < 1024 { body += bytes.prefix(1024 - body.count) }
    }

    private func header(_ bytes: UnsafeRawBufferPointer) {
        // Only a status line (a new response starts) and Retry-After matter.
        guard bytes.count > 5 else { return }
        let line = String(decoding: bytes, as: UTF8.self)
        if line.lowercased().hasPrefix("http/") { retryAfterMilliseconds = nil; return }
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "retry-after",
            let seconds = Int64(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)), seconds >= 0
        else { return }
        retryAfterMilliseconds = seconds * 1000
    }
}
