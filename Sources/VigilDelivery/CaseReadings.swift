import Synchronization
import VigilCore

/// The case reads of the sends in progress, kept while the log has had no append since: a
/// fan-out to a thousand endpoints asks a thousand times whether its case was cancelled, and
/// the answer cannot change until an alert is appended. Any append (a cancel, an update,
/// anything) empties it, so a send never decides on a case older than the log it read.
final class CaseReadings: Sendable {
    /// Alerts whose case reads are kept at most; beyond, the oldest go.
    static let capacity = 256

    private let state = Mutex<(appends: UInt64, views: [String: [StoredAlert]], order: [String])>((0, [:], []))

    /// Forgets every read: an alert was appended.
    func appended() {
        state.withLock { state in
            state.appends &+= 1
            state.views.removeAll(keepingCapacity: true)
            state.order.removeAll(keepingCapacity: true)
        }
    }

    /// The case views of `alertID`, from an earlier read if no append came since, else from
    /// `read` (kept only if no append came while it ran).
    func views(of alertID: String, read: () throws -> [StoredAlert]) rethrows -> [StoredAlert] {
        let before: UInt64 = state.withLock { state in state.appends }
        if let kept = state.withLock({ $0.views[alertID] }) { return kept }
        let views = try read()
        state.withLock { state in
            guard state.appends == before, state.views[alertID] == nil else { return }
            if state.order.count >= Self.capacity { state.views.removeValue(forKey: state.order.removeFirst()) }
            state.views[alertID] = views
            state.order.append(alertID)
        }
        return views
    }
}
