/// Who sees a subscriber's acknowledgements on a case's board, besides the filer and the
/// operators (who always do).
public enum AckVisibility: String, Vocabulary {
    /// Only the filing organisation and operators.
    case filer
    /// Also every other recipient of the case.
    case recipients
}
