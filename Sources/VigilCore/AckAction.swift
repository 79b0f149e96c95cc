/// What a desk that acknowledged an alert is doing about it.
public enum AckAction: String, Vocabulary {
    case seen, acting, demarche
    case trialObservation = "trial_observation"
    case prisonVisit = "prison_visit"
    case publicStatement = "public_statement"
    case relocationSupport = "relocation_support"
    case other
}
