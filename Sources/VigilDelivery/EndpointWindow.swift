import VigilCore

/// How many sends one endpoint may have in flight (issue 22): the window opens while the
/// endpoint answers quickly and successfully with its window in use, and closes when it fails
/// or slows down, as TCP's congestion window and Svix's throttling do. A desk coming back from
/// an outage starts from a window its failures closed, so it is not flooded with its backlog;
/// a healthy busy one is not held to a few requests at a time.
///
/// - A fast success while the window was in use (at least half of it in flight, as Linux's
///   TCP judges a window limited): grows by one request per window's worth of them
///   (additive increase), up to `ceiling`.
/// - A slow success (at least `slowMilliseconds`): one request less.
/// - A failure the endpoint is to blame for (timeout, connection failure, 408, 429, 5xx):
///   halved (multiplicative decrease), never below one.
/// Pure: the scheduler keeps one per endpoint and feeds it each send's answer.
struct EndpointWindow: Sendable, Equatable {
    /// What a finished send says about the endpoint's capacity.
    enum Answer: Sendable, Equatable {
        /// 2xx, quicker than the slow threshold.
        case fast
        /// 2xx, but slow.
        case slow
        /// A timeout, a failed connection, 408, 429 or 5xx.
        case failed

        /// The answer `result` gives, or `nil` when it says nothing about capacity (a
        /// refusal, 3xx, 410: the endpoint answered, but not to this question).
        static func of(_ result: Result<HTTPOutcome, TransportError>, slowMilliseconds: Int) -> Answer? {
            switch result {
            case .failure: return .failed
            case .success(let outcome):
                switch outcome.status {
                case 200..<300: return outcome.latencyMilliseconds < slowMilliseconds ? .fast : .slow
                case 408, 429, 500..<600: return .failed
                default: return nil
                }
            }
        }
    }

    /// Sends the endpoint may have in flight now.
    private(set) var limit: Int
    /// Quick answers counted towards the next opening (one per `limit` of them).
    private var earned = 0
    /// Where it starts (and how a new endpoint is treated).
    let initial: Int
    /// The most it opens to.
    let ceiling: Int

    /// A window starting at `initial`, opening to at most `ceiling` (at least `initial`).
    init(initial: Int, ceiling: Int) {
        self.initial = max(1, initial)
        self.ceiling = max(self.initial, ceiling)
        limit = self.initial
    }

    /// Adjusts to `answer`; `inFlight` is how many sends the endpoint had in flight when this
    /// one finished, itself included (a window less than half in use is not opened further).
    mutating func record(_ answer: Answer, inFlight: Int) {
        switch answer {
        case .fast:
            guard inFlight * 2 >= limit, limit < ceiling else { return }
            earned += 1
            if earned >= limit {
                limit += 1
                earned = 0
            }
        case .slow:
            limit = max(1, limit - 1)
            earned = 0
        case .failed:
            limit = max(1, limit / 2)
            earned = 0
        }
    }
}
