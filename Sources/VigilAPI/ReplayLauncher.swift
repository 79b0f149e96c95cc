import Foundation
import VigilCore
import VigilStore

/// Replays as a caller asks for them: the one path behind `POST /v1/replays` and the
/// console's replay form (issue 20). It reads the request with `ReplayRequest`'s parser (so
/// both refuse with the same messages), dry-runs or starts it through `ReplayRunner`, and
/// audits either under the caller's id. The caller turns the outcome into its own answer.
public struct ReplayLauncher: Sendable {
    let runner: ReplayRunner
    let store: ReplayStore
    let audit: AuditTrail

    /// Replays through `runner`, their progress read from `store`, audited in `audit`.
    public init(runner: ReplayRunner, store: ReplayStore, audit: AuditTrail) {
        self.runner = runner
        self.store = store
        self.audit = audit
    }

    /// What a request came to: the dry run's plan, or the replay it started.
    public enum Outcome: Sendable {
        /// `dry_run` was true: everything it would send, nothing sent.
        case planned(ReplayRunner.Plan)
        /// The replay started; its first progress record.
        case started(ReplayProgress)
    }

    /// Reads `body` (a replay as JSON, DESIGN §8) and dry-runs or starts it for `caller`:
    /// `.validation` with every problem by field when the request is refused, `.unavailable`
    /// when the log or the store cannot serve it.
    public func submit(_ body: [UInt8], by caller: TokenRecord) -> Result<Outcome, APIError> {
        let request: ReplayRequest
        do {
            request = try ReplayRequest(json: body)
        } catch {
            return .failure(.validation(error))
        }
        return submit(request, by: caller)
    }

    /// Dry-runs or starts `request`, already read, for `caller`.
    public func submit(_ request: ReplayRequest, by caller: TokenRecord) -> Result<Outcome, APIError> {
        let described = String(decoding: (try? VigilJSON.encode(request.selection)) ?? Data(), as: UTF8.self)
        let targetText = request.target.subscriberID.map { "to \($0)" + (request.target.channelID.map { "/\($0)" } ?? "") } ?? "to every matching subscriber"
        do {
            if request.dryRun {
                let plan = try runner.plan(request)
                audit.record([AuditEntry(caller, .replayStarted, target: "dry-run", detail: "dry run \(targetText): \(described)")])
                return .success(.planned(plan))
            }
            let id = "rpl_" + ULID().description.lowercased()
            let progress = try runner.start(request, id: id)
            audit.record([AuditEntry(caller, .replayStarted, target: id, detail: "\(targetText): \(described)")])
            return .success(.started(progress))
        } catch {
            return .failure(.unavailable("the replay could not be started: \(error)"))
        }
    }

    /// The progress of replay `id`: not found when there is none.
    public func progress(id: String) -> Result<ReplayProgress, APIError> {
        do {
            guard let progress = try store.replay(id: id) else { return .failure(.notFound("no replay with id '\(id)'")) }
            return .success(progress)
        } catch {
            return .failure(.unavailable("the replay cannot be read right now"))
        }
    }
}
