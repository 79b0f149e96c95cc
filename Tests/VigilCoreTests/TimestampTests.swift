import Testing
@testable import VigilCore

@Suite struct TimestampTests {
    @Test func formatsInUTCWithMilliseconds() {
        #expect(Timestamp(milliseconds: 0).description == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: 1_795_338_843_120).description == "2026-11-22T09:14:03.120Z")
        #expect(Timestamp(milliseconds: -1).description == "1969-12-31T23:59:59.999Z")
    }

    @Test(arguments: [
        ("2026-11-21T22:00:00Z", Int64(1_795_298_400_000)),
        ("2026-11-21T22:00:00.5Z", 1_795_298_400_500),
        ("2026-11-21T23:00:00+01:00", 1_795_298_400_000),
        ("2026-11-21T17:00:00-05:00", 1_795_298_400_000),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
    ])
    func parsesRFC3339(text: String, milliseconds: Int64) {
        #expect(Timestamp(rfc3339: text)?.milliseconds == milliseconds)
    }

    @Test(arguments: ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-21 22:00:00Z", "2026-11-21T22:00:00",
                      "yesterday", "2026-11-21T24:00:00Z", "2026-11-21T22:00:00.Z", "2026-11-21T22:00:00Zjunk"])
    func refusesWhatIsNotRFC3339(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func roundTripsThroughText() {
        for ms in stride(from: Int64(-10_000_000_000), through: 4_000_000_000_000, by: 97_654_321_123) {
            let t = Timestamp(milliseconds: ms)
            #expect(Timestamp(rfc3339: t.description) == t)
        }
    }
}

@Suite struct ULIDTests {
    @Test func isTwentySixCrockfordCharactersCarryingItsTime() {
        let time = Timestamp(milliseconds: 1_795_338_843_120)
        let id = ULID(time: time)
        #expect(id.description.count == 26)
        #expect(ULID(id.description) == id)
        #expect(id.time == time)
    }

    @Test func sortsByTime() {
        let earlier = ULID(time: Timestamp(milliseconds: 1000)), later = ULID(time: Timestamp(milliseconds: 1001))
        #expect(earlier.description < later.description)
    }

    @Test func encodesKnownVector() {
        // All-zero randomness at time 0 is all zeros; max time with max randomness is 7ZZZ….
        #expect(ULID(time: Timestamp(milliseconds: 0), randomness: Array(repeating: 0, count: 10)).description == String(repeating: "0", count: 26))
        #expect(ULID(time: Timestamp(milliseconds: 0xFFFF_FFFF_FFFF), randomness: Array(repeating: 0xFF, count: 10)).description == "7" + String(repeating: "Z", count: 25))
    }

    @Test(arguments: ["", "01M825CFCJ7PXX86Y361FVVH2", "81M825CFCJ7PXX86Y361FVVH2B", "01M825CFCJ7PXX86Y361FVVH2U"])
    func refusesMalformedText(text: String) {
        #expect(ULID(text) == nil)
    }

    @Test func idsAreUnique() {
        let ids = Set((0..<10_000).map { _ in ULID().description })
        #expect(ids.count == 10_000)
    }
}

@Suite struct CountryCodeTests {
    @Test func knowsAllAssignedCodes() {
        #expect(CountryCode.all.count == 249)
        #expect(CountryCode("by")?.code == "BY")
        #expect(CountryCode("CO")?.name == "Colombia")
    }

    @Test(arguments: ["XX", "UK", "EU", "B", "BYR", ""])
    func refusesUnassignedCodes(code: String) {
        #expect(CountryCode(code) == nil)
    }
}
