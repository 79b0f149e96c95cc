/// The lifecycle of one librdkafka client handle, as a value: calls enter and leave, a
/// shutdown closes it, and the state says which party frees the handle. Mutated under the
/// handle's one lock; the action it answers is carried out outside that lock.
///
/// `running` → `shuttingDown` (while calls are still inside the handle) → `closed`. A call
/// that arrives once shutdown has begun is refused; the handle is freed exactly once, by the
/// shutdown when no call is inside it, or else by the last call to leave. The shape is
/// swift-kafka-client's `KafkaClient` state machine (`withClient`), written down here.
struct KafkaClientState: Sendable, Equatable {
    /// Where the handle is in its life.
    enum Phase: Sendable, Equatable {
        /// Open; `inFlight` calls are inside it.
        case running(inFlight: Int)
        /// Shutdown was asked while `inFlight` calls were inside; the last to leave frees it.
        case shuttingDown(inFlight: Int)
        /// Freed, or about to be by the party that was told `.destroy`.
        case closed
    }

    /// The current phase.
    private(set) var phase = Phase.running(inFlight: 0)

    /// What a call that wants to use the handle may do.
    enum EnterAction: Sendable, Equatable {
        /// Use it; call `leave()` afterwards.
        case proceed
        /// The handle is shutting down or closed; fail the call.
        case refuse
    }

    /// What a call leaving the handle must do.
    enum LeaveAction: Sendable, Equatable {
        /// Nothing.
        case none
        /// Free the handle: shutdown waited for this last call.
        case destroy
    }

    /// What `shutdown()` must do.
    enum ShutdownAction: Sendable, Equatable {
        /// Free the handle now: no call is inside it.
        case destroy
        /// Nothing now: the last call inside frees it when it leaves.
        case leaveToLastCaller
        /// Nothing: shutdown was asked before.
        case alreadyShutDown
    }

    /// A call wants the handle.
    mutating func enter() -> EnterAction {
        switch phase {
        case .running(let inFlight):
            phase = .running(inFlight: inFlight + 1)
            return .proceed
        case .shuttingDown, .closed:
            return .refuse
        }
    }

    /// A call that entered is done with the handle.
    mutating func leave() -> LeaveAction {
        switch phase {
        case .running(let inFlight):
            precondition(inFlight > 0, "leave() without enter()")
            phase = .running(inFlight: inFlight - 1)
            return .none
        case .shuttingDown(let inFlight):
            precondition(inFlight > 0, "leave() without enter()")
            if inFlight == 1 {
                phase = .closed
                return .destroy
            }
            phase = .shuttingDown(inFlight: inFlight - 1)
            return .none
        case .closed:
            preconditionFailure("leave() after the handle was freed")
        }
    }

    /// The owner shuts the handle down; idempotent.
    mutating func shutdown() -> ShutdownAction {
        switch phase {
        case .running(0):
            phase = .closed
            return .destroy
        case .running(let inFlight):
            phase = .shuttingDown(inFlight: inFlight)
            return .leaveToLastCaller
        case .shuttingDown, .closed:
            return .alreadyShutDown
        }
    }
}
