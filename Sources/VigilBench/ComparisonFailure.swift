/// Why an Alertmanager comparison could not be measured.
public enum ComparisonFailure: Error, CustomStringConvertible {
    /// The webhook sink's process did not start or announce its port.
    case sinkDidNotStart(String)
    /// `prometheus-alertmanager` could not be started (the command, and why).
    case alertmanagerDidNotStart(String)
    /// Alertmanager did not answer `/-/ready` in time; the end of its log.
    case alertmanagerNotReady(seconds: Int, log: String)
    /// A side's alerts could not be filed (the connection failed or timed out): which side, and why.
    case filingFailed(side: String, detail: String)
    /// A side refused alerts: which side, the status and the start of the answer.
    case refused(side: String, status: Int, answer: String)
    /// The disk probe could not write or sync its file.
    case fsyncProbeFailed(String)
    /// A side's webhooks did not all reach the sink in time.
    case webhooksMissing(side: String, received: Int, expected: Int, seconds: Int)

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .sinkDidNotStart(let detail):
            "the webhook sink did not start (\(detail)); run the bench from the built `vigil` binary, which starts its own sink as `vigil bench sink`"
        case .alertmanagerDidNotStart(let detail):
            "Alertmanager did not start (\(detail)); check that `prometheus-alertmanager --version` runs, or reinstall it with `deploy/setup.sh bench`"
        case .alertmanagerNotReady(let seconds, let log):
            "Alertmanager did not answer /-/ready within \(seconds) s; the end of its log:\n\(log)"
        case .filingFailed(let side, let detail):
            "filing alerts with \(side) failed: \(detail); is the machine overloaded? try fewer --clients or a shorter run"
        case .refused(let side, let status, let answer):
            "\(side) answered \(status) to a bench alert: \(answer.prefix(300))"
        case .fsyncProbeFailed(let detail):
            "the fsync probe failed: \(detail); is the temporary directory writable?"
        case .webhooksMissing(let side, let received, let expected, let seconds):
            "\(side): \(received) of \(expected) webhooks reached the sink within \(seconds) s; is the machine overloaded, or the sink refusing connections?"
        }
    }
}
