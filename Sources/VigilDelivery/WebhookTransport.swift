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
    /// signed at `now` with every secret of `secrets`, bound to the checked address `pinned`.
    public static func signed(
        _ delivery: DeliveryRecord, alert: Alert, url: String, secrets: [WebhookSecret], now: Timestamp, timeoutMilliseconds: Int,
        pinnedAddress pinned: (host: String, port: Int, address: String)
    ) -> CurlRequest {
        let body = WebhookPayload.body(alert: alert, deliveryID: delivery.id, sentAt: now, replayID: delivery.replayID)
        var headers: [(String, String)] = [
            ("content-type", "application/json"), ("user-agent", "Vigil"),
            ("webhook-id", delivery.id), ("webhook-timestamp", String(now.unixSeconds)),
            ("webhook-signature", WebhookSignature.header(id: delivery.id, timestamp: now.unixSeconds, body: body, secrets: secrets)),
        ]
        if alert.status == .exercise { headers.append(("vigil-exercise", "true")) }
        if let replayID = delivery.replayID { headers += [("vigil-replay", "true"), ("vigil-replay-id", replayID)] }
        return CurlRequest(url: url, headers: headers, body: body, timeoutMilliseconds: timeoutMilliseconds, pinnedAddress: pinned)
    }
}
