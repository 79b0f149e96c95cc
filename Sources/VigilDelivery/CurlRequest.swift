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

/// One HTTP POST through libcurl's easy interface: no redirects followed, a total timeout,
/// and optionally the connection pinned to an already-checked address (`CURLOPT_RESOLVE`)
/// so a second DNS answer cannot redirect it, while TLS still verifies the host name.
/// Every libcurl call of Vigil's webhooks lives in this file.
public enum CurlRequest {
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// POSTs `body` to `url` with `headers` and blocks until an answer or a failure.
    public static func post(
        url: String, headers: [(String, String)], body: [UInt8], timeoutMilliseconds: Int,
        pinnedAddress: (host: String, port: Int, address: String)? = nil
    ) -> Result<HTTPOutcome, TransportError> {
        _ = globalInit
        guard let handle = HandlePool.shared.take() else { return .failure(.failed("libcurl could not start a request")) }
        defer { HandlePool.shared.give(handle) }
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Expect:")  // no 100-continue round trip
        defer { curl_slist_free_all(list) }
        var resolve: UnsafeMutablePointer<curl_slist>?
        if let pin = pinnedAddress {
            resolve = curl_slist_append(resolve, "\(pin.host):\(pin.port):\(pin.address)")
        }
        defer { curl_slist_free_all(resolve) }

        let sink = ResponseSink()
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        return body.withUnsafeBufferPointer { bodyBuffer -> Result<HTTPOutcome, TransportError> in
            _ = vigil_curl_setopt_string(handle, CURLOPT_URL, url)
            _ = vigil_curl_setopt_long(handle, CURLOPT_POST, 1)
            _ = vigil_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bodyBuffer.baseAddress))
            _ = vigil_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
            _ = vigil_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
            if resolve != nil { _ = vigil_curl_setopt_slist(handle, CURLOPT_RESOLVE, resolve) }
            _ = vigil_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            _ = vigil_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
            _ = vigil_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = vigil_curl_setopt_long(handle, CURLOPT_MAXCONNECTS, 16)
            _ = vigil_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            _ = vigil_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque())
            _ = vigil_curl_setopt_write_function(handle) { data, size, count, user in
                let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
                sink.append(UnsafeRawBufferPointer(start: data, count: size * count))
                return size * count
            }
            _ = vigil_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context.toOpaque())
            _ = vigil_curl_setopt_header_function(handle) { data, size, count, user in
                let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
                sink.header(String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self))
                return size * count
            }
            let code = curl_easy_perform(handle)
            guard code == CURLE_OK else {
                if code == CURLE_OPERATION_TIMEDOUT { return .failure(.timedOut) }
                return .failure(.failed(String(cString: curl_easy_strerror(code))))
            }
            var status = 0
            _ = vigil_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return .success(HTTPOutcome(status: status, retryAfterMilliseconds: sink.retryAfterMilliseconds, bodyPrefix: sink.bodyPrefix))
        }
    }
}

/// Easy handles kept between requests so their connections are reused: a webhook to an
/// endpoint that was called recently skips the TCP (and TLS) handshake. `curl_easy_reset`
/// clears a handle's options but keeps its live connections and DNS cache.
private final class HandlePool: @unchecked Sendable {
    static let shared = HandlePool()
    private let lock = NSLock()
    private var idle: [UnsafeMutableRawPointer] = []
    private let capacity = 64

    func take() -> UnsafeMutableRawPointer? {
        if let handle = lock.withLock({ idle.popLast() }) {
            curl_easy_reset(handle)
            return handle
        }
        return curl_easy_init()
    }

    func give(_ handle: UnsafeMutableRawPointer) {
        let kept = lock.withLock {
            guard idle.count < capacity else { return false }
            idle.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle) }
    }
}

/// Collects what libcurl's callbacks hand over during one transfer.
private final class ResponseSink {
    private var body: [UInt8] = []
    var retryAfterMilliseconds: Int64?

    func append(_ bytes: UnsafeRawBufferPointer) {
        if body.count < 1024 { body += bytes.prefix(1024 - body.count) }
    }

    func header(_ line: String) {
        if line.lowercased().hasPrefix("http/") { retryAfterMilliseconds = nil; return }  // a new response
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "retry-after",
            let seconds = Int64(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)), seconds >= 0
        else { return }
        retryAfterMilliseconds = seconds * 1000
    }

    var bodyPrefix: String { String(decoding: body, as: UTF8.self) }
}
