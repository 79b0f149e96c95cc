/// CAP 1.2 certainty, so a desk never forwards a rumour as a fact.
public enum Certainty: String, Vocabulary {
    case observed, likely, possible, unlikely, unknown
}
