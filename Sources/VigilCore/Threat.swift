/// What is happening to the defender; subscriptions may filter on it.
public enum Threat: String, Vocabulary {
    case killing
    case attemptedKilling = "attempted_killing"
    case disappearance
    case arrest
    case detention
    case physicalAttack = "physical_attack"
    case judicialHarassment = "judicial_harassment"
    case dismissal
    case threat
    case surveillance
    case travelBan = "travel_ban"
    case raid
    case smearCampaign = "smear_campaign"
    case other
}
