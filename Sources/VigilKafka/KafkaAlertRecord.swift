import Foundation
import VigilCore
import VigilCrypto

/// How Vigil writes an alert to `vigil.alerts`: the `[erased]` view in the clear (for
/// routing, and for any Kafka client to read), the identity sealed under the alert's data
/// key, the idempotency claim it was filed with, and a MAC under a key derived from the
/// master key, so a record written by someone else cannot pass for one Vigil validated.
///
/// Layout, byte for byte: `{"vigil":1,"mac":"<64 hex>",` then the signed rest,
/// `"claim":{…}|null,"identity":"<base64>","key_id":"…","alert":{…}}`. A record without that prefix is
/// a submission: alert JSON as `POST /v1/alerts` takes it, written by an outside producer.
public struct KafkaAlertRecord: Sendable, Equatable {
    /// The alert with its identity fields marked `[erased]`.
    public let view: Alert
    /// The identity, sealed under the alert's data key.
    public let sealedIdentity: [UInt8]
    /// The id under which the data key (wrapped) is kept in `vigil.keys`.
    public let keyID: String
    /// The idempotency claim the alert was filed with, if any.
    public let claim: IdempotencyClaim?

    /// A record of `view` with its sealed identity and claim.
    public init(view: Alert, sealedIdentity: [UInt8], keyID: String, claim: IdempotencyClaim?) {
        self.view = view
        self.sealedIdentity = sealedIdentity
        self.keyID = keyID
        self.claim = claim
    }

    private static let prefix = Array(#"{"vigil":1,"mac":""#.utf8)
    private static let macLength = 64

    /// Whether `value` claims to be a Vigil record (it may still fail its MAC).
    public static func looksSigned(_ value: [UInt8]) -> Bool { value.starts(with: prefix) }

    /// The bytes written to Kafka, signed with `macKey`.
    public func encoded(macKey: [UInt8]) -> [UInt8] {
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        w.key("claim")
        if let claim {
            w.beginObject()
            w.field("fingerprint", claim.fingerprint)
            w.field("key", claim.key)
            w.field("organisation", claim.organisation)
            w.endObject()
        } else {
            w.null()
        }
        w.field("identity", Base64.encode(sealedIdentity))
        w.field("key_id", keyID)
        w.key("alert")
        w.endObject()
        // `{"claim":…,"identity":"…","alert":}` → the signed rest ends with the alert's JSON.
        var rest = Array(w.bytes.dropFirst().dropLast())
        rest += view.jsonBytes()
        rest.append(UInt8(ascii: "}"))
        let mac = Array(Hex.encode(HMAC.sha256(key: macKey, message: rest)).utf8)
        return Self.prefix + mac + Array("\",".utf8) + rest
    }

    /// Why a value that looked signed was not taken as a Vigil record.
    public enum DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not signed by a Vigil holding this master key, or altered since.
        case badSignature
        /// Signed, but not a record this version understands.
        case unreadable(String)

        public var description: String {
            switch self {
            case .badSignature: "the record claims to be written by Vigil but its MAC does not verify (forged, altered, or another master key)"
            case .unreadable(let why): "a signed Vigil record that cannot be read: \(why)"
            }
        }
    }

    /// The record in `value`, checked against `macKey`.
    public init(decoding value: [UInt8], macKey: [UInt8]) throws(DecodingError) {
        let macStart = Self.prefix.count, restStart = macStart + Self.macLength + 2
        guard Self.looksSigned(value), value.count > restStart,
            value[(macStart + Self.macLength)..<restStart].elementsEqual(Array("\",".utf8)),
            let mac = Hex.decode(String(decoding: value[macStart..<(macStart + Self.macLength)], as: UTF8.self))
        else { throw .badSignature }
        let rest = value[restStart...]
        guard HMAC.verify(mac, key: macKey, message: rest) else { throw .badSignature }
        struct Wire: Decodable {
            struct Claim: Decodable { let organisation: String; let key: String; let fingerprint: String }
            let claim: Claim?
            let identity: String
            let key_id: String
            let alert: Alert
        }
        let wire: Wire
        do {
            wire = try VigilJSON.decoder().decode(Wire.self, from: Data([UInt8(ascii: "{")] + rest))
        } catch {
            throw .unreadable(String(describing: error))
        }
        guard let sealed = Base64.decode(wire.identity) else { throw .unreadable("identity is not base64") }
        view = wire.alert
        sealedIdentity = sealed
        keyID = wire.key_id
        claim = wire.claim.map { IdempotencyClaim(organisation: $0.organisation, key: $0.key, fingerprint: $0.fingerprint) }
    }
}
