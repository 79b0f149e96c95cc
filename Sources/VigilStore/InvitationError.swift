/// Why an invitation was refused for what it binds (`AccountRoster.invite`), worded for
/// `vigil users invite` and shown as it is by the console's users page.
public enum InvitationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A desk account reads its subscribers' feed, so it needs at least one.
    case deskWithoutSubscribers
    /// The subscriber is unknown, or belongs to another organisation.
    case unknownSubscriber(String, String)
    /// Only desks are bound to subscribers.
    case subscribersOnlyForDesks

    /// What to change, in a sentence (the command line's flags named as such).
    public var description: String {
        switch self {
        case .deskWithoutSubscribers: "a desk account needs at least one --subscriber (the subscribers whose feed it reads)"
        case .unknownSubscriber(let id, let organisation):
            "\(id) is not a subscriber of \(organisation); see vigil subscribers list"
        case .subscribersOnlyForDesks: "--subscriber is only for desk accounts"
        }
    }
}
