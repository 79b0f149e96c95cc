import Foundation
import VigilCore
import VigilHTTP
import VigilStore

/// `GET /v1/audit?after=&action=&limit=` (scope `subscribers:admin`): the audit trail,
/// oldest first, paged by `next_after`.
public struct AuditAPI: Sendable {
    let trail: AuditTrail
    let authenticator: Authenticator

    /// Adds the route to `router`.
    public func register(on router: inout HTTPRouter) {
        router.add(Self.listOperation) { request, responder in list(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [listOperation] }

    static let listOperation = APIOperation(
        "GET", "/v1/audit", id: "listAudit", tag: "audit", summary: "The audit trail, oldest first, paged by next_after",
        access: .token(.subscribersAdmin),
        parameters: [
            .query("after", "a sequence number (exclusive)", .integer(minimum: 0, maximum: AlertsAPI.maxOffset)),
            .query("action", "only this action", .words(AuditAction.self)),
            .query("limit", "at most this many (default 100)", .integer(minimum: 1, maximum: 1000)),
        ],
        responses: [
            .json(200, "a page", .object(
                [
                    "entries": .array(.object(
                        [
                            "seq": .integer(minimum: 1), "at": APIComponents.time, "token_id": .string(), "organisation": .string(),
                            "action": .words(AuditAction.self), "target": .string(), "detail": .string(),
                        ], required: ["action", "at", "detail", "organisation", "seq", "target", "token_id"])),
                    "next_after": .integer(minimum: 0),
                ], required: ["entries", "next_after"])),
            .error(400, "a parameter is out of its bounds"),
        ])

    private struct Page: Encodable {
        let entries: [AuditEntry]
        let nextAfter: Int64
        enum CodingKeys: String, CodingKey {
            case entries
            case nextAfter = "next_after"
        }
    }

    func list(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard authenticator.require(.subscribersAdmin, request, responder) != nil else { return }
        var problems: [FieldError] = []
        var after: Int64 = 0
        var limit = 100
        var action: AuditAction?
        if let text = request.query["after"] {
            if let value = Int64(text), (0...AlertsAPI.maxOffset).contains(value) { after = value } else {
                problems.append(FieldError("after", "must be a sequence number from 0 to \(AlertsAPI.maxOffset)"))
            }
        }
        if let text = request.query["limit"] {
            if let value = Int(text), (1...1000).contains(value) { limit = value } else { problems.append(FieldError("limit", "must be between 1 and 1000")) }
        }
        if let text = request.query["action"] {
            action = AuditAction(rawValue: text)
            if action == nil { problems.append(FieldError("action", "must be one of \(AuditAction.allowedWords)")) }
        }
        guard problems.isEmpty else { return responder.send(APIError.badRequest(ValidationFailure(problems).description).response) }
        do {
            let entries = try trail.entries(after: after, action: action, limit: limit)
            responder.send(APIResponse.json(200, Page(entries: entries, nextAfter: entries.last?.seq ?? after)))
        } catch {
            responder.send(APIError.unavailable("the audit trail cannot be read right now").response)
        }
    }
}

extension AuditEntry {
    /// An entry for something `token` did now.
    public init(_ token: TokenRecord, _ action: AuditAction, target: String, detail: String = "") {
        self.init(tokenID: token.id, organisation: token.organisation, action: action, target: target, detail: detail)
    }
}

extension AuditTrail {
    /// Records that `token` listed `alerts`: ONE entry for the whole page, naming (as its
    /// target, comma-separated) the restricted and confidential alerts it returned and saying
    /// for how many the identity was shown or redacted. Nothing when all were public.
    public func recordListing(_ alerts: [StoredAlert], by token: TokenRecord) {
        let sensitive = alerts.filter { $0.alert.confidentiality != .public }
        guard !sensitive.isEmpty else { return }
        let shown = sensitive.filter { token.clearance.clears($0.alert.confidentiality) }.count
        record([AuditEntry(
            token, .alertRead, target: sensitive.map(\.alert.id).joined(separator: ","),
            detail: "listing of \(sensitive.count) restricted or confidential alert\(sensitive.count == 1 ? "" : "s") read with \(token.clearance.rawValue) clearance; "
                + (shown == sensitive.count ? "identity shown" : shown == 0 ? "identity redacted" : "identity shown for \(shown), redacted for \(sensitive.count - shown)"))],
            withNextWrite: true)
    }

    /// Records that `token` read `alerts`, one entry per restricted or confidential alert,
    /// saying whether the identity was shown or redacted.
    public func recordReads(_ alerts: [StoredAlert], by token: TokenRecord) {
        record(alerts.filter { $0.alert.confidentiality != .public }.map { stored in
            let shown = token.clearance.clears(stored.alert.confidentiality)
            return AuditEntry(
                token, .alertRead, target: stored.alert.id,
                detail: "\(stored.alert.confidentiality.rawValue) alert read with \(token.clearance.rawValue) clearance; identity \(shown ? "shown" : "redacted")")
        }, withNextWrite: true)
    }
}
