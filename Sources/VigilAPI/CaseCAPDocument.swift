import VigilCore

extension CAPDocument {
    /// The CAP form of `stored` as `log` holds it, at `clearance`: an update or cancel names
    /// the earlier alerts of its case in `references`. The one way `GET /v1/alerts/{id}` and a
    /// feed's CAP link make the document.
    static func of(_ stored: StoredAlert, in log: any AlertLog, clearance: Confidentiality, publicURL: String) throws -> CAPDocument {
        var earlier: [String] = []
        if stored.alert.kind != .alert, stored.offset > 0 {
            let query = AlertQuery(toOffset: stored.offset - 1, caseID: stored.alert.caseID, limit: AlertsAPI.maxLimit)
            earlier = try log.alerts(matching: query).map(\.alert.id)
        }
        return CAPDocument(alert: stored.alert, earlierAlertIDs: earlier, clearance: clearance, publicURL: publicURL)
    }
}
