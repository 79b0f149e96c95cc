import VigilCore
import VigilCrypto

/// The `ack_url` every webhook and email carries (issue 19): a link bound to one alert and
/// one subscriber, signed with a key derived from the master key, valid for 30 days. It
/// needs no token, so a desk officer can acknowledge from a phone's mail client; `GET` on it
/// only shows a page (mail scanners open links), `POST` records the acknowledgement.
///
/// The token is `<alert id>.<subscriber id>.<expiry, Unix seconds>.<128-bit HMAC, hex>`:
/// ids are ULIDs and `sub_…` words, so it needs no escaping in a path, and it names nothing
/// about the defender.
public struct AckLink: Sendable, Equatable {
    /// How long a link is valid.
    public static let lifetimeSeconds: Int64 = 30 * 24 * 3600

    /// The alert it acknowledges.
    public let alertID: String
    /// The subscriber it acknowledges for.
    public let subscriberID: String
    /// When it stops working, in Unix seconds.
    public let expiresAt: Int64

    /// A link for `subscriberID` on `alertID`, expiring `lifetimeSeconds` after `now`.
    public init(alertID: String, subscriberID: String, now: Timestamp) {
        self.init(alertID: alertID, subscriberID: subscriberID, expiresAt: now.milliseconds / 1000 + Self.lifetimeSeconds)
    }

    init(alertID: String, subscriberID: String, expiresAt: Int64) {
        self.alertID = alertID
        self.subscriberID = subscriberID
        self.expiresAt = expiresAt
    }

    /// The signed token, for `{public_url}/ack/{token}`.
    public func token(key: [UInt8]) -> String {
        let payload = "\(alertID).\(subscriberID).\(expiresAt)"
        return payload + "." + Hex.encode(Array(HMAC.sha256(key: key, message: Array(payload.utf8)).prefix(16)))
    }

    /// What `WorkerConfiguration.ackURL` wants: for an (alert, subscriber), the link
    /// `{publicURL}/ack/{token}`, valid for `lifetimeSeconds` from when it is made.
    public static func urls(publicURL: String, key: [UInt8]) -> @Sendable (_ alertID: String, _ subscriberID: String) -> String? {
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        return { [base] alertID, subscriberID in
            base + "/ack/" + AckLink(alertID: alertID, subscriberID: subscriberID, now: .now()).token(key: key)
        }
    }

    /// Why a token is not a valid link.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not a link Vigil made, or altered.
        case invalid
        /// A genuine link past its 30 days.
        case expired

        public var description: String {
            switch self {
            case .invalid: "this acknowledgement link is not valid; use the link from the alert as it was sent, or acknowledge through the API"
            case .expired: "this acknowledgement link has expired (links last 30 days); acknowledge through the API or the console"
            }
        }
    }

    /// The link `token` stands for, if it is one Vigil signed with `key` and it has not
    /// expired at `now`. Outside input: every part is checked before anything is computed.
    public static func verify(_ token: String, key: [UInt8], now: Timestamp) -> Result<AckLink, Refusal> {
        guard token.utf8.count <= 200 else { return .failure(.invalid) }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, ULID(String(parts[0])) != nil, parts[1].count <= 64,
            parts[1].utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }),
            parts[2].count <= 12, let expiresAt = Int64(parts[2]), expiresAt >= 0,
            parts[3].count == 32, let mac = Hex.decode(String(parts[3])), mac.count == 16
        else { return .failure(.invalid) }
        let payload = "\(parts[0]).\(parts[1]).\(parts[2])"
        let expected = Array(HMAC.sha256(key: key, message: Array(payload.utf8)).prefix(16))
        guard constantTimeEqual(mac, expected) else { return .failure(.invalid) }
        guard now.milliseconds / 1000 < expiresAt else { return .failure(.expired) }
        return .success(AckLink(alertID: String(parts[0]), subscriberID: String(parts[1]), expiresAt: expiresAt))
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
