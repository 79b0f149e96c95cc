import Synchronization

/// The handlers registered with `AlertLog.observeAppends` or `observeErasures`, for a log to
/// keep and call: one registry for both kinds of notice and every log.
public final class LogObservers<Notice: Sendable>: Sendable {
    private let handlers = Mutex<(next: UInt64, byID: [UInt64: @Sendable (Notice) -> Void])>((0, [:]))

    /// No handlers yet.
    public init() {}

    /// Registers `handler` until the returned observation is cancelled.
    public func add(_ handler: @escaping @Sendable (Notice) -> Void) -> AppendObservation {
        let id = handlers.withLock { state in
            state.next += 1
            state.byID[state.next] = handler
            return state.next
        }
        return AppendObservation { [weak self] in _ = self?.handlers.withLock { $0.byID.removeValue(forKey: id) } }
    }

    /// Tells every handler `notice`, outside the lock (a handler may register or cancel).
    public func notify(_ notice: Notice) {
        for handler in handlers.withLock({ Array($0.byID.values) }) { handler(notice) }
    }
}

extension LogObservers where Notice == [String] {
    /// Tells every handler that `alertIDs` were erased (nothing when the list is empty).
    public func notifyErased(_ alertIDs: [String]) {
        guard !alertIDs.isEmpty else { return }
        notify(alertIDs)
    }
}
