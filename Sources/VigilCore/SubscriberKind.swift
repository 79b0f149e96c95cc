/// What kind of body a subscriber is.
public enum SubscriberKind: String, Vocabulary {
    case diplomaticDesk = "diplomatic_desk"
    case euDelegation = "eu_delegation"
    case embassy
    case ngo
    case other
}
