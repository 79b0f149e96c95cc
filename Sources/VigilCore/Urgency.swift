/// CAP 1.2 urgency: how soon responsive action should be taken.
public enum Urgency: String, Vocabulary {
    case immediate, expected, future, past, unknown
}
