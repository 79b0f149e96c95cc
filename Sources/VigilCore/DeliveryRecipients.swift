/// Who was sent what, as routing needs to know it: an update or cancel reaches everyone an
/// earlier alert of its case reached. Routers and replays read it.
public protocol DeliveryRecipients: AnyObject, Sendable {
    /// The subscribers that were sent (not merely recorded) any of the alerts `ids` at once:
    /// an alert gathered into a digest does not count (issue 21), so an update of a case a
    /// subscriber knows only from its digests is gathered again.
    func recipients(ofAlerts ids: [String]) throws -> Set<String>
}

extension DeliveryRecipients {
    /// The earlier recipients of `alert`'s case, which an update or cancel reaches even if
    /// their subscriptions changed since; none for a case's first alert. The log says which
    /// alerts belong to the case, so this holds on either backend.
    public func caseRecipients(of alert: Alert, in log: any AlertLog) throws -> Set<String> {
        guard alert.kind != .alert else { return [] }
        let ids = try log.routingViews(matching: AlertQuery(caseID: alert.caseID, limit: 100_000)).map(\.alert.id)
        return try recipients(ofAlerts: ids)
    }
}
