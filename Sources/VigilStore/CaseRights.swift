import VigilCore

/// Why an update or cancel of a case is refused.
public enum CaseRefusal: Error, Equatable, Sendable {
    /// No alert of the case has been filed (`422`).
    case unknown(ValidationFailure)
    /// The case's first alert was filed by another organisation (`403`).
    case notFiler

    /// The reason, for a log line or a quarantined record (it never names the filer).
    public var description: String {
        switch self {
        case .unknown(let failure): failure.description
        case .notFiler: "case_id: the case was filed by another organisation; only it or an operator may update or cancel it"
        }
    }
}

/// Who may update or cancel a case: the organisation that filed its first alert, or an operator.
public enum CaseRights {
    /// Why `alert`, an update or cancel, may not be filed: its case has no alert in `log`, or
    /// the case's first alert came from another organisation and the filer is no operator.
    /// `nil` for a new alert and for an update or cancel its filer may make.
    public static func refusal(of alert: Alert, in log: any AlertLog, byOperator: Bool) throws -> CaseRefusal? {
        guard alert.kind != .alert else { return nil }
        guard let first = try log.alerts(matching: AlertQuery(caseID: alert.caseID, limit: 1)).first else {
            return .unknown(ValidationFailure([
                FieldError("case_id", "no alert of case \(alert.caseID) has been filed; an \(alert.kind.rawValue) must name an existing case")
            ]))
        }
        if byOperator || first.alert.source.organisation == alert.source.organisation { return nil }
        return .notFiler
    }
}
