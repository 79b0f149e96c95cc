/// Whether an alert opens a case, adds facts to it, or withdraws it.
public enum AlertKind: String, Vocabulary {
    /// The first report of a case.
    case alert
    /// New facts on an existing case: charged, released, moved.
    case update
    /// The case was filed in error.
    case cancel
}
