/// Where a case stands, as the filer's `update` alerts report it (issue 19).
public enum CaseStatus: String, Vocabulary {
    case detained, charged
    case onTrial = "on_trial"
    case sentenced, released, acquitted, relocated, missing, killed, closed

    /// Whether the case is over for the desks that follow it: pending escalations and
    /// reminders of the case stop.
    public var isClosing: Bool { [.released, .acquitted, .relocated, .closed].contains(self) }
}
