import VigilCore
import VigilStore

/// Which alerts an account may open in the console, and the newest of them (issue 20): a
/// partner its organisation's filings, a desk what was sent to the subscribers it is bound
/// to, operators and admins everything. What is shown is still redacted to the account's
/// clearance by the page.
struct AlertAccess {
    let log: any AlertLog
    let deliveries: any DeliveryLedger

    /// Most alerts read back from the end of the log to fill one listing.
    static let maxScanned = 5000
    /// Alerts read per step of that scan.
    static let window: Int64 = 500

    /// Whether `account` may open `alert`.
    func mayRead(_ alert: Alert, _ account: Account) throws -> Bool {
        switch account.role {
        case .operator, .admin: return true
        case .partner: return alert.source.organisation == account.organisation
        case .desk:
            let own = Set(account.subscriberIDs)
            return try deliveries.deliveries(ofAlert: alert.id).contains { own.contains($0.subscriberID) && $0.state != .skipped }
        }
    }

    /// What a listing is filtered by.
    struct Filter {
        var country: CountryCode?
        var severity: Severity?
        var status: AlertStatus?
        /// Only alerts below this offset (the next page).
        var before: LogOffset?
    }

    /// The newest `limit` alerts `account` may open that match `filter`, newest first, and
    /// the offset to continue below (nil when the scan reached the start of the log).
    func newest(_ account: Account, _ filter: Filter, limit: Int) throws -> (alerts: [StoredAlert], continueBelow: LogOffset?) {
        var found: [StoredAlert] = []
        var upper = min(try log.lastOffset(), (filter.before ?? .max) - 1)
        var scanned = 0
        while upper >= 1 && found.count < limit && scanned < Self.maxScanned {
            let lower = max(1, upper - Self.window + 1)
            let page = try log.alerts(matching: AlertQuery(fromOffset: lower, toOffset: upper, country: filter.country, limit: Int(Self.window)))
            scanned += Int(upper - lower + 1)
            for stored in page.reversed() where found.count < limit {
                let alert = stored.alert
                if let severity = filter.severity, alert.severity != severity { continue }
                if let status = filter.status, alert.status != status { continue }
                if try mayRead(alert, account) { found.append(stored) }
            }
            upper = lower - 1
        }
        if found.count == limit, let last = found.last { return (found, last.offset) }
        return (found, upper >= 1 ? upper + 1 : nil)
    }
}
