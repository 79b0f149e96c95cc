import Testing
import VigilCore
@testable import VigilDelivery

/// The signed acknowledgement link: genuine links verify until they expire; anything
/// altered, forged or malformed is refused without trapping.
@Suite struct AckLinkTests {
    let key = Array(repeating: UInt8(7), count: 32)
    let now = Timestamp(milliseconds: 1_800_000_000_000)
    let alertID = ULID(time: Timestamp(milliseconds: 1_800_000_000_000)).description

    @Test func aGenuineLinkVerifiesUntilItExpires() throws {
        let link = AckLink(alertID: alertID, subscriberID: "sub_01desk", now: now)
        let token = link.token(key: key)
        #expect(try AckLink.verify(token, key: key, now: now).get() == link)
        let later = Timestamp(milliseconds: now.milliseconds + AckLink.lifetimeSeconds * 1000)
        #expect(AckLink.verify(token, key: key, now: later) == .failure(.expired))
    }

    @Test func alteredForgedAndMalformedTokensAreRefused() {
        let token = AckLink(alertID: alertID, subscriberID: "sub_01desk", now: now).token(key: key)
        let otherKey = Array(repeating: UInt8(8), count: 32)
        var refused = [
            AckLink(alertID: alertID, subscriberID: "sub_01desk", now: now).token(key: otherKey),
            token.replacingOccurrences(of: "sub_01desk", with: "sub_01evil"),
            "", ".", "...", token + ".", String(repeating: "a", count: 10_000),
            "\(alertID).sub_x.99999999999999999999.00000000000000000000000000000000",
            "\(alertID).SUB_X.1.00000000000000000000000000000000", "\(alertID).sub_x.-1.00000000000000000000000000000000",
            "not-a-ulid.sub_x.1.00000000000000000000000000000000",
        ]
        let parts = token.split(separator: ".")
        refused.append(parts[0] + "." + parts[1] + "." + String(Int64(parts[2])! + 1) + "." + parts[3])
        for candidate in refused {
            #expect(AckLink.verify(candidate, key: key, now: now) == .failure(.invalid), "\(candidate.prefix(80))")
        }
    }
}
