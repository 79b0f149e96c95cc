/// Who receives, as the workers need to know it: the subscriber and its signing secrets.
public protocol SubscriberDirectory: Sendable {
    /// The subscriber `id` as it is now, or `nil` once deleted.
    func subscriber(id: String) throws -> Subscriber?
    /// The `whsec_` secrets of a webhook channel, current first.
    func secrets(channelID: String) throws -> [String]
    /// Why the channel was disabled (its endpoint answered 410 Gone), or `nil`.
    func disabledReason(channelID: String) throws -> String?
    /// Disables a channel for good; its deliveries go to the dead letters.
    func disable(channelID: String, reason: String) throws
}
