import VigilCore
import VigilObservability
import VigilStore

/// The dead letters and the one way to send one again: the path behind
/// `POST /v1/deliveries/{id}/retry` and the console's Retry button, so both requeue, log,
/// audit and wake the workers the same way. The caller turns the outcome into its own answer.
public struct DeadLetters: Sendable {
    let queue: any DeliveryLedger
    let workers: any DeliveryWorkers
    let audit: AuditTrail
    let logger: Logger

    /// Dead letters of `queue`; a retry records in `audit` and pokes `workers`.
    public init(queue: any DeliveryLedger, workers: any DeliveryWorkers, audit: AuditTrail, logger: Logger) {
        self.queue = queue
        self.workers = workers
        self.audit = audit
        self.logger = logger
    }

    /// The newest `limit` dead letters, newest first.
    public func newest(limit: Int) -> Result<[DeliveryRecord], APIError> {
        do {
            return .success(try queue.deadLetters(limit: limit))
        } catch {
            return .failure(.unavailable("the dead letters cannot be read right now"))
        }
    }

    /// Puts dead delivery `id` back in the queue with a fresh retry budget for `caller`,
    /// audits it under the caller's id and wakes the workers. Not found when `id` is not a
    /// dead delivery (unknown, or already pending again).
    public func retry(_ id: String, by caller: TokenRecord) -> Result<Void, APIError> {
        do {
            guard try queue.retryDead(id, at: .now()) else { return .failure(.notFound("no dead delivery with id '\(id)'")) }
            logger.info("dead delivery queued again", ["delivery": id])
            audit.record([AuditEntry(caller, .deliveriesRetried, target: id)])
            workers.poke()
            return .success(())
        } catch {
            return .failure(.unavailable("the delivery could not be queued again: \(error)"))
        }
    }
}
