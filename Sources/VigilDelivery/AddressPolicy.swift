import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a webhook URL may not be called.
public enum AddressRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not an absolute http(s) URL with a host.
    case badURL(String)
    /// Plain http where https is required.
    case insecureScheme
    /// The host did not resolve.
    case unresolvable(String)
    /// Every address of the host is loopback, private, link-local, metadata or otherwise internal.
    case internalAddress(String)

    public var description: String {
        switch self {
        case .badURL(let url): "'\(url)' is not an absolute http(s) URL"
        case .insecureScheme: "webhooks must use https (http is allowed only with allow_private_webhooks)"
        case .unresolvable(let host): "the host \(host) does not resolve"
        case .internalAddress(let address): "the endpoint resolves to \(address), an internal address webhooks may not reach"
        }
    }
}

/// The SSRF guard of DESIGN §9: resolves a webhook's host once, refuses internal addresses
/// unless the operator allows them, and returns the checked address so the request is
/// pinned to it (no second lookup, no DNS rebinding).
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
    public func check(_ url: String) -> Result<(host: String, port: Int, address: String), AddressRefusal> {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = parsed.host, !host.isEmpty
        else { return .failure(.badURL(url)) }
        if scheme == "http" && !allowPrivate { return .failure(.insecureScheme) }
        let port = parsed.port ?? (scheme == "https" ? 443 : 80)
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let addresses = resolutions.addresses(of: bare)
        guard !addresses.isEmpty else { return .failure(.unresolvable(bare)) }
        if allowPrivate { return .success((bare, port, addresses[0])) }
        guard let allowed = addresses.first(where: { !Self.isInternal($0) }) else { return .failure(.internalAddress(addresses[0])) }
        return .success((bare, port, allowed))
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
    /// carrier-grade NAT, multicast, unspecified, reserved, or IPv6 unique-local; IPv4-mapped
    /// IPv6 addresses are judged by their IPv4 part.
    public static func isInternal(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return isInternalIPv4(UInt32(bigEndian: v4.s_addr)) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return true }
        let b = withUnsafeBytes(of: v6) { Array($0) }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {  // ::ffff:a.b.c.d
            return isInternalIPv4(UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15]))
        }
        if b[0..<15].allSatisfy({ $0 == 0 }) { return true }  // :: and ::1
        if b[0] & 0xFE == 0xFC { return true }  // fc00::/7 unique-local, includes fd00:ec2::254
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return true }  // fe80::/10 link-local
        if b[0] == 0xFF { return true }  // multicast
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return true }  // documentation
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B { return true }  // NAT64 can reach IPv4 internals
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
