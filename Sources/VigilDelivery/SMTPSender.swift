import CCurl
import Foundation
import VigilCore

/// Why the relay did not take a message.
public enum SMTPFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Try again later: connection trouble, a 4xx reply, a timeout.
    case transient(String)
    /// The relay refused for good (a 5xx reply to the recipient or the message).
    case permanent(String)

    public var description: String {
        switch self {
        case .transient(let why): why
        case .permanent(let why): why
        }
    }
}

/// Sends email through an SMTP relay with libcurl (DESIGN §7): `smtp://host:port` upgrades
/// with STARTTLS when the relay offers it, `smtps://` is TLS from the start, and a user and
/// password in the URL authenticate. Every libcurl call for SMTP lives in this file.
public struct SMTPSender: Sendable {
    /// The relay, `smtp://[user:password@]host:port`.
    public let url: String
    /// The envelope and header sender, for example `Vigil <alerts@vigil.example.org>`.
    public let from: String
    /// Longest time for one message.
    public let timeoutMilliseconds: Int

    /// A sender through `url`.
    public init(url: String, from: String, timeoutMilliseconds: Int = 30_000) {
        self.url = url
        self.from = from
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// The bare address of `from` for the envelope.
    var envelopeFrom: String {
        if let open = from.lastIndex(of: "<"), let close = from.lastIndex(of: ">"), open < close {
            return String(from[from.index(after: open)..<close])
        }
        return from
    }

    /// The relay's URL without credentials, and the user and password it carried.
    private var endpoint: (url: String, user: String?, password: String?) {
        guard let parsed = URLComponents(string: url), let name = parsed.user else { return (url, nil, nil) }
        var bare = parsed
        bare.user = nil
        bare.password = nil
        return (bare.string ?? url, name.removingPercentEncoding, parsed.password?.removingPercentEncoding)
    }

    /// Hands `message` to the relay and blocks until it answers.
    public func send(_ message: EmailMessage) -> Result<Void, SMTPFailure> {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        guard let handle = curl_easy_init() else { return .failure(.transient("libcurl could not start a transfer")) }
        defer { curl_easy_cleanup(handle) }
        var recipients: UnsafeMutablePointer<curl_slist>?
        for address in message.to { recipients = curl_slist_append(recipients, "<\(address)>") }
        defer { curl_slist_free_all(recipients) }
        let source = MessageSource(message.bytes())
        let context = Unmanaged.passRetained(source)
        defer { context.release() }

        let (target, user, password) = endpoint
        _ = vigil_curl_setopt_string(handle, CURLOPT_URL, target)
        _ = vigil_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(envelopeFrom)>")
        _ = vigil_curl_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients)
        _ = vigil_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
        _ = vigil_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
        _ = vigil_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
        _ = vigil_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        if let user { _ = vigil_curl_setopt_string(handle, CURLOPT_USERNAME, user) }
        if let password { _ = vigil_curl_setopt_string(handle, CURLOPT_PASSWORD, password) }
        _ = vigil_curl_setopt_pointer(handle, CURLOPT_READDATA, context.toOpaque())
        _ = vigil_curl_setopt_read_function(handle) { buffer, size, count, user in
            let source = Unmanaged<MessageSource>.fromOpaque(user!).takeUnretainedValue()
            return source.read(into: buffer!, capacity: size * count)
        }
        let code = curl_easy_perform(handle)
        guard code != CURLE_OK else { return .success(()) }
        var reply = 0
        _ = vigil_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply)
        var seconds = 0.0
        _ = vigil_curl_getinfo_double(handle, CURLINFO_TOTAL_TIME, &seconds)
        let reason = Self.reason(code: code, reply: reply, milliseconds: max(0, DeliveryArithmetic.milliseconds(fromSeconds: seconds, rounding: .toNearestOrAwayFromZero)), handle: handle)
        return reply >= 500 && reply < 600 ? .failure(.permanent(reason)) : .failure(.transient(reason))
    }

    /// Checks that the relay answers as an SMTP server without sending anything: connects
    /// (with STARTTLS when offered, and the URL's credentials), reads the greeting, says EHLO
    /// and NOOP, and quits. For `vigil check`; the relay's reply text is discarded.
    public func probe() -> Result<Void, SMTPFailure> {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        guard let handle = curl_easy_init() else { return .failure(.transient("libcurl could not start a transfer")) }
        defer { curl_easy_cleanup(handle) }
        let (target, user, password) = endpoint
        _ = vigil_curl_setopt_string(handle, CURLOPT_URL, target)
        _ = vigil_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, "NOOP")
        _ = vigil_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
        _ = vigil_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
        _ = vigil_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        if let user { _ = vigil_curl_setopt_string(handle, CURLOPT_USERNAME, user) }
        if let password { _ = vigil_curl_setopt_string(handle, CURLOPT_PASSWORD, password) }
        _ = vigil_curl_setopt_write_function(handle) { _, size, count, _ in size * count }
        let code = curl_easy_perform(handle)
        var reply = 0
        _ = vigil_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply)
        if code == CURLE_OK, (200..<300).contains(reply) { return .success(()) }
        var seconds = 0.0
        _ = vigil_curl_getinfo_double(handle, CURLINFO_TOTAL_TIME, &seconds)
        let reason = Self.reason(code: code, reply: reply, milliseconds: max(0, DeliveryArithmetic.milliseconds(fromSeconds: seconds, rounding: .toNearestOrAwayFromZero)), handle: handle)
        return reply >= 500 && reply < 600 ? .failure(.permanent(reason)) : .failure(.transient(reason))
    }

    /// Why the relay did not take a message, in Vigil's words: the reply code and its class,
    /// or the transport failure's class, and the time taken. The relay's reply text is a
    /// receiver's reply too (it may quote the message) and is never kept.
    static func reason(code: CURLcode, reply: Int, milliseconds: Int64, handle: UnsafeMutableRawPointer) -> String {
        switch reply {
        case 400..<500: return "SMTP \(reply) (temporary refusal) after \(milliseconds) ms"
        case 500..<600: return "SMTP \(reply) (permanent refusal) after \(milliseconds) ms"
        case 1...: return "SMTP \(reply) (unexpected reply) after \(milliseconds) ms"
        default:
            if code == CURLE_OPERATION_TIMEDOUT { return "mail relay: timeout after \(milliseconds) ms" }
            return "mail relay: \(TransportFailure(code, handle: handle)) after \(milliseconds) ms"
        }
    }
}

/// Feeds the message to libcurl's read callback.
private final class MessageSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let count = min(capacity, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}
