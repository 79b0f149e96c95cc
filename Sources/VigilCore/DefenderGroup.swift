/// The kind of human rights work that puts the defender at risk.
public enum DefenderGroup: String, Vocabulary {
    case tradeUnionist = "trade_unionist"
    case environmentalDefender = "environmental_defender"
    case landRightsDefender = "land_rights_defender"
    case indigenousRightsDefender = "indigenous_rights_defender"
    case journalist
    case lawyer
    case womensRightsDefender = "womens_rights_defender"
    case lgbtiRightsDefender = "lgbti_rights_defender"
    case studentActivist = "student_activist"
    case other
}
