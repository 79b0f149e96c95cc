import CCurl
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a webhook URL may not be called.
public enum AddressRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not an absolute http(s) URL with a plain ASCII host, no IPv6 zone and a
    /// port from 1 to 65535, as libcurl reads it.
    case badURL(String)
    /// Plain http where https is required.
    case insecureScheme
    /// The host did not resolve.
    case unresolvable(String)
    /// An address of the host is loopback, private, link-local, metadata or otherwise internal.
    case internalAddress(String)

    public var description: String {
        switch self {
        case .badURL(let url):
            "'\(url)' is not an absolute http(s) URL with an ASCII host (write an internationalised name as xn--…), no IPv6 zone, and a port from 1 to 65535"
        case .insecureScheme: "webhooks must use https (http is allowed only with allow_private_webhooks)"
        case .unresolvable(let host): "the host \(host) does not resolve"
        case .internalAddress(let address): "the endpoint resolves to \(address), an internal address webhooks may not reach"
        }
    }
}

/// The SSRF guard of DESIGN §9: reads a webhook's URL as libcurl does, resolves its host
/// once, refuses it when any of its addresses is internal (unless the operator allows
/// them), and returns the checked address so the request is pinned to it (no second
/// lookup, no DNS rebinding, no disagreement between two readers of the URL).
public struct AddressPolicy: Sendable {
    /// Lets webhooks reach loopback and private addresses, and plain http (tests, demos).
    public let allowPrivate: Bool

    /// Where host names are looked up: the system resolver, asked afresh every time unless
    /// the caller shares a `HostResolutions` cache (the delivery workers do).
    let resolutions: HostResolutions

    /// A policy; `allowPrivate` from `allow_private_webhooks`.
    public init(allowPrivate: Bool, resolutions: HostResolutions = HostResolutions(lifetime: 0)) {
        self.allowPrivate = allowPrivate
        self.resolutions = resolutions
    }

    /// The host, port and checked address to call `url` on.
    ///
    /// The URL is read by libcurl's own parser (`curl_url`), so the host checked here is the
    /// host libcurl will name in the request: userinfo tricks (`http://a@127.0.0.1@x/`),
    /// numeric IPv4 spellings (`http://2130706433/`, `http://0x7f.1/`), percent-encoded
    /// hosts and trailing dots are read once, the way the request reads them. The host is
    /// resolved once and every address it has must be external; the connection is then
    /// pinned to the first (`CurlRequest`), and libcurl never looks the name up itself.
    public func check(_ url: String) -> Result<(host: String, port: Int, address: String), AddressRefusal> {
        guard let parts = Self.parts(of: url), parts.scheme == "https" || parts.scheme == "http" else { return .failure(.badURL(url)) }
        if parts.scheme == "http" && !allowPrivate { return .failure(.insecureScheme) }
        let addresses = resolutions.addresses(of: parts.host)
        guard let first = addresses.first else { return .failure(.unresolvable(parts.host)) }
        if allowPrivate { return .success((parts.host, parts.port, first)) }
        if let inside = addresses.first(where: Self.isInternal) { return .failure(.internalAddress(inside)) }
        return .success((parts.host, parts.port, first))
    }

    /// The scheme, host (IPv6 without brackets) and port of `url` as libcurl reads it, or
    /// `nil` when libcurl refuses it, the host is empty, not plain ASCII (write an
    /// internationalised name in its `xn--` form), carries an IPv6 zone, or the port is 0.
    static func parts(of url: String) -> (scheme: String, host: String, port: Int)? {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, 0) == CURLUE_OK else { return nil }
        func part(_ which: CURLUPart, _ flags: UInt32 = 0) -> String? {
            var text: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &text, flags) == CURLUE_OK, let text else { return nil }
            defer { curl_free(text) }
            return String(cString: text)
        }
        guard part(CURLUPART_ZONEID) == nil, let scheme = part(CURLUPART_SCHEME)?.lowercased(), var host = part(CURLUPART_HOST),
            let port = part(CURLUPART_PORT, UInt32(CURLU_DEFAULT_PORT)).flatMap({ Int($0) }), (1...65535).contains(port)
        else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, host, &v6) == 1 else { return nil }
        } else {
            let allowed = host.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x2E || byte == 0x5F
            }
            guard allowed, !host.isEmpty else { return nil }
        }
        return (scheme, host, port)
    }

    /// Whether two numeric addresses are the same address, however each is written.
    public static func sameAddress(_ a: String, _ b: String) -> Bool {
        func bytes(_ text: String) -> [UInt8]? {
            var v4 = in_addr()
            if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
            return nil
        }
        guard let x = bytes(a), let y = bytes(b) else { return false }
        return x == y
    }

    /// Every address the system resolver gives for `host`, as numeric text (IPv6 without
    /// brackets), without duplicates.
    @Sendable public static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &info) == 0 else { return [] }
        defer { freeaddrinfo(info) }
        var result: [String] = []
        var cursor = info
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !result.contains(text) { result.append(text) }
            }
            cursor = entry.pointee.ai_next
        }
        return result
    }

    /// Whether a numeric address is loopback, private, link-local (incl. cloud metadata),
    /// carrier-grade NAT, multicast, unspecified, reserved, documentation, or on IPv6
    /// unique-local or site-local; anything that is not a numeric address counts as internal.
    ///
    /// IPv6 forms that carry an IPv4 address are judged this way: IPv4-mapped
    /// (`::ffff:0:0/96`), IPv4-translated (`::ffff:0:0:0/96`), IPv4-compatible (`::/96`),
    /// NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) and Teredo (`2001::/32`) are refused outright:
    /// no webhook receiver publishes them, and each reaches an IPv4 host through a
    /// translation this check cannot see. 6to4 (`2002::/16`) is refused when the IPv4
    /// address it embeds is.
    public static func isInternal(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return isInternalIPv4(UInt32(bigEndian: v4.s_addr)) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return true }
        let b = withUnsafeBytes(of: v6) { Array($0) }
        func ipv4(at i: Int) -> UInt32 { UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]) }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return true }  // ::ffff:a.b.c.d, IPv4-mapped
        if b[0..<8].allSatisfy({ $0 == 0 }) && b[8] == 0xFF && b[9] == 0xFF && b[10] == 0 && b[11] == 0 { return true }  // ::ffff:0:a.b.c.d
        if b[0..<12].allSatisfy({ $0 == 0 }) { return true }  // ::/96: ::, ::1 and IPv4-compatible ::a.b.c.d
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B { return true }  // 64:ff9b::/32 (NAT64, incl. 64:ff9b:1::/48)
        if b[0] == 0x20 && b[1] == 0x02 { return isInternalIPv4(ipv4(at: 2)) }  // 6to4 2002:a.b.c.d::/48
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00 { return true }  // Teredo 2001::/32
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return true }  // 2001:db8::/32 documentation
        if b[0] == 0x01 && b[1..<8].allSatisfy({ $0 == 0 }) { return true }  // 100::/64 discard-only
        if b[0] & 0xFE == 0xFC { return true }  // fc00::/7 unique-local, includes fd00:ec2::254
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return true }  // fe80::/10 link-local
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return true }  // fec0::/10 site-local (deprecated, still routed inside some sites)
        if b[0] == 0xFF { return true }  // multicast
        return false
    }

    static func isInternalIPv4(_ a: UInt32) -> Bool {
        func within(_ base: UInt32, _ bits: UInt32) -> Bool { a >> (32 - bits) == base >> (32 - bits) }
        return within(0x0000_0000, 8) || within(0x0A00_0000, 8) || within(0x6440_0000, 10) || within(0x7F00_0000, 8)
            || within(0xA9FE_0000, 16) || within(0xAC10_0000, 12) || within(0xC000_0000, 24) || within(0xC000_0200, 24)
            || within(0xC0A8_0000, 16) || within(0xC612_0000, 15) || within(0xC633_6400, 24) || within(0xCB00_7100, 24)
            || within(0xE000_0000, 4) || within(0xF000_0000, 4)
    }
}
