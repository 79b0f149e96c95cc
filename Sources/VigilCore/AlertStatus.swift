/// Whether an alert is real, a drill, or a technical test.
public enum AlertStatus: String, Vocabulary {
    /// A real event; delivered.
    case actual
    /// A drill; delivered and marked as one.
    case exercise
    /// A technical test; routed and recorded, never delivered.
    case test
}
