import Foundation
import VigilCore
import VigilCrypto
import Synchronization
import VigilObservability
import VigilStore

/// The tokens as `vigil tokens` administers them, on either backend: the embedded store in
/// `data_dir`, or on Kafka the shared `vigil.tokens` topic (read into a private cache, and
/// written through it, so every running process learns of a new or revoked token), with the
/// audit entry published to `vigil.audit`.
public final class TokenAdministration: Sendable {
    /// The tokens.
    public let tokens: TokenStore
    /// Where token creation and revocation are recorded.
    public let audit: AuditTrail
    private let databases: Mutex<[Database]>
    private let closeBackend: @Sendable () -> Void
    private let scratch: String

    /// Opens the tokens of the deployment `configuration` describes.
    public init(configuration: VigilConfiguration) throws {
        let local = try Database(path: configuration.storePath, readers: 1)
        let databases = Mutex([local])
        let scratch = NSTemporaryDirectory() + "vigil-tokens-\(UUID().uuidString)"
        (tokens, audit, closeBackend) = try BackendAssembly.tokenAdministration(configuration, local: local) {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let cache = try Database(path: scratch + "/tokens.sqlite", readers: 1)
            databases.withLock { $0.append(cache) }
            return cache
        }
        self.databases = databases
        self.scratch = scratch
    }

    /// Who asks for a token to be made or revoked.
    public enum Issuer: Sendable {
        /// The operator at the service's host, with the data directory in hand (`vigil tokens`).
        case localOperator(String)
        /// An API token: it mints only tokens of its own clearance or below and of its own scopes.
        case token(TokenRecord)

        var tokenID: String {
            switch self {
            case .localOperator: "local"
            case .token(let record): record.id
            }
        }

        var organisation: String {
            switch self {
            case .localOperator(let name): name
            case .token(let record): record.organisation
            }
        }
    }

    /// Makes a token with a fresh secret for `organisation`, audited; returns the record and
    /// the secret (shown once). Refused, and the refusal audited, when `issuer` is a token and
    /// the new one would have a higher clearance or a scope the issuer lacks.
    public func create(
        organisation: String, scopes: Set<Scope>, clearance: Confidentiality, issuer: Issuer
    ) throws -> (record: TokenRecord, secret: String) {
        if case .token(let record) = issuer, let refusal = Self.refusal(issuer: record, scopes: scopes, clearance: clearance) {
            audit.record([AuditEntry(
                tokenID: record.id, organisation: record.organisation, action: .accessRefused, target: "new token",
                detail: refusal.description)])
            audit.waitForPublished()
            throw refusal
        }
        let secret = SecureRandom.token(prefix: "vgl_")
        let record = try tokens.register(secret: secret, organisation: organisation, scopes: scopes, clearance: clearance)
        audit.record([AuditEntry(
            tokenID: issuer.tokenID, organisation: issuer.organisation, action: .tokenCreated, target: record.id,
            detail: "for \(organisation), scopes \(scopes.map(\.rawValue).sorted().joined(separator: ",")), clearance \(clearance.rawValue)")])
        return (record, secret)
    }

    /// Revokes token `id`, audited; `false` when there is no live token with that id.
    public func revoke(id: String, issuer: Issuer) throws -> Bool {
        guard try tokens.revoke(id: id) else { return false }
        audit.record([AuditEntry(tokenID: issuer.tokenID, organisation: issuer.organisation, action: .tokenRevoked, target: id)])
        return true
    }

    /// Why `issuer` may not mint a token with `scopes` and `clearance`, or `nil` when it may.
    public static func refusal(issuer: TokenRecord, scopes: Set<Scope>, clearance: Confidentiality) -> TokenRefusal? {
        if !issuer.clearance.clears(clearance) { return .clearanceAboveIssuer(requested: clearance, issuer: issuer.clearance) }
        let missing = scopes.subtracting(issuer.scopes)
        if !missing.isEmpty { return .scopesBeyondIssuer(missing.map(\.rawValue).sorted()) }
        return nil
    }

    /// Flushes the audit, stops following the topic and closes the files.
    public func close() {
        closeBackend()
        for database in databases.withLock({ $0 }) { database.close() }
        try? FileManager.default.removeItem(atPath: scratch)
    }
}

/// Why a token may not mint the token it asked for.
public enum TokenRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The new token's clearance is above the issuer's.
    case clearanceAboveIssuer(requested: Confidentiality, issuer: Confidentiality)
    /// The new token would have scopes the issuer lacks.
    case scopesBeyondIssuer([String])

    public var description: String {
        switch self {
        case .clearanceAboveIssuer(let requested, let issuer):
            "a token of \(issuer.rawValue) clearance cannot mint one of \(requested.rawValue) clearance; ask an operator"
        case .scopesBeyondIssuer(let scopes):
            "a token cannot mint scopes it lacks itself (\(scopes.joined(separator: ", "))); ask an operator"
        }
    }
}
