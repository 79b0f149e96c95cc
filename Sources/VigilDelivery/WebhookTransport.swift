import VigilCore

/// Where the workers' webhook POSTs go: `CurlTransport` in the service, a fake in tests.
public protocol WebhookTransport: AnyObject, Sendable {
    /// Starts `request` and calls `completion` once, with the receiver's answer or why there
    /// was none. `completion` may run on the transport's own thread: keep it short.
    func post(_ request: CurlRequest, completion: @escaping @Sendable (Result<HTTPOutcome, TransportError>) -> Void)
}

extension CurlTransport: WebhookTransport {}

/// The signed webhook request for one delivery (Standard Webhooks headers, DESIGN §7).
public enum WebhookRequest {
    /// The POST of `alert` (already redacted for the receiver) for `delivery` to `url`,
    /// signed at `now` with every secret of `secrets`, bound to the checked address `pinned`,
    /// with `ackURL` and the `acknowledgement` a report is about in the body (see
    /// `WebhookPayload`). Follow-ups say what they are in headers too: `vigil-escalation:
    /// true` on an escalation, `vigil-reminder: <n>` on a reminder, `vigil-report: true` on
    /// a report to the filing organisation.
    public static func signed(
        _ delivery: DeliveryRecord, alert: Alert, url: String, secrets: [WebhookSecret], now: Timestamp, timeoutMilliseconds: Int,
        pinnedAddress pinned: (host: String, port: Int, address: String), ackURL: String? = nil, acknowledgement: Acknowledgement? = nil,
        digest: Digest? = nil
    ) -> CurlRequest {
        let body = digest.map { WebhookPayload.digestBody($0, deliveryID: delivery.id, sentAt: now) } ?? WebhookPayload.body(
            alert: alert, deliveryID: delivery.id, sentAt: now, replayID: delivery.replayID, followUp: delivery.followUp, ackURL: ackURL,
            acknowledgement: acknowledgement)
        var headers: [(String, String)] = [
            ("content-type", "application/json"), ("user-agent", "Vigil"),
            ("webhook-id", delivery.id), ("webhook-timestamp", String(now.unixSeconds)),
            ("webhook-signature", WebhookSignature.header(id: delivery.id, timestamp: now.unixSeconds, body: body, secrets: secrets)),
        ]
        if digest == nil, alert.status == .exercise { headers.append(("vigil-exercise", "true")) }
        if let replayID = delivery.replayID { headers += [("vigil-replay", "true"), ("vigil-replay-id", replayID)] }
        switch delivery.followUp {
        case .escalation: headers.append(("vigil-escalation", "true"))
        case .reminder(let n): headers.append(("vigil-reminder", String(n)))
        case .acknowledged, .escalated: headers.append(("vigil-report", "true"))
        case .digest: headers.append(("vigil-digest", "true"))
        case .caseReminder, .gathered, nil: break
        }
        return CurlRequest(url: url, headers: headers, body: body, timeoutMilliseconds: timeoutMilliseconds, pinnedAddress: pinned)
    }
}
