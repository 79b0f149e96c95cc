import Foundation
import Testing
@testable import VigilCore

/// Issue 17 §3: identity never leaks through free text, links or tags; the scrubber as a
/// second line of defence; §5: length limits count scalars and bytes.
@Suite struct IdentityProtectionTests {
    func alert(_ changes: [String: JSONValue?] = [:]) throws -> Alert {
        var body: [String: JSONValue?] = [
            "confidentiality": .string("restricted"),
            "defender": .object(["name": .string("Ivan Petrov"), "organisation": .string("Free Union"), "role": .string("chair")]),
            "summary": .string("Ivan Petrov, chair of the union, was arrested. Petrov is held in Minsk."),
            "region": .string("Minsk, near Petrov's flat"),
            "links": .array([.string("https://example.org/ivan-petrov")]),
            "tags": .array([.string("petrov-case")]),
        ]
        for (key, value) in changes { body[key] = value }
        return try validate(validBody(body))
    }

    // MARK: Fail closed

    /// Below clearance there is no scrubbed summary any more: the fixed withheld text, in
    /// the alert's language or the one asked for; region marked; links and tags empty.
    @Test func readersBelowClearanceGetTheWithheldTextNotAScrubbedSummary() throws {
        let original = try alert(["language": .string("fr")])
        let seen = original.redacted(for: .public)
        #expect(seen.summary == WithheldSummary.texts["fr"])
        #expect(seen.language == "fr")
        #expect(seen.region == RedactionMark.redacted)
        #expect(seen.links.isEmpty && seen.tags.isEmpty)
        #expect(seen.defender.name == RedactionMark.redacted && seen.defender.organisation == RedactionMark.redacted)
        #expect(seen.summaryPublic == nil)
        for language in ["en", "fr", "nl", "es", "de"] {
            #expect(original.redacted(for: .public, language: language).summary == WithheldSummary.texts[language])
        }
        let unknown = original.redacted(for: .public, language: "ru")
        #expect(unknown.summary == WithheldSummary.texts["en"] && unknown.language == "en")
        let json = String(decoding: seen.jsonBytes(), as: UTF8.self)
        for leak in ["Petrov", "Ivan", "Minsk", "example.org", "petrov-case", "Free Union", "chair"] {
            #expect(!json.contains(leak), "\(leak) leaks to a reader below clearance")
        }
        #expect(original.redacted(for: .restricted) == original, "a cleared reader sees everything")
    }

    /// `summary_public` is what readers below clearance get, scrubbed again of the name,
    /// organisation and role.
    @Test func summaryPublicIsShownScrubbedBelowClearance() throws {
        let filed = "A leader (Petrov, of Free Union, its chair) was arrested in the capital; the union protests."
        let original = try alert(["summary_public": .string(filed)])
        #expect(original.summaryPublic == filed)
        let seen = original.redacted(for: .public)
        // Parts of the organisation go too ("union"): over-scrubbing is the safe side.
        #expect(seen.summary == "A leader ([redacted], of [redacted], its [redacted]) was arrested in the capital; the [redacted] protests.")
        #expect(original.redacted(for: .confidential).summaryPublic == original.summaryPublic)
        #expect(fieldsOf(validBody(["summary_public": .number(3)])) == ["summary_public"])
        #expect(fieldsOf(validBody(["summary_public": .string(String(repeating: "a", count: 4001))])) == ["summary_public"])
    }

    /// The log keeps none of the free text: summary, public summary and region marked,
    /// links and tags empty; the sealed identity holds all of it.
    @Test func theLogViewKeepsNoFreeTextAndTheIdentityHoldsIt() throws {
        let original = try alert(["summary_public": .string("An arrest in the capital.")])
        let view = original.sealedView
        #expect(view.summary == RedactionMark.erased && view.region == RedactionMark.erased && view.summaryPublic == RedactionMark.erased)
        #expect(view.links.isEmpty && view.tags.isEmpty)
        let json = String(decoding: view.jsonBytes(), as: UTF8.self)
        for leak in ["Petrov", "Ivan", "Minsk", "example.org", "petrov-case", "capital", "Free Union", "chair"] {
            #expect(!json.contains(leak), "\(leak) is in the log view")
        }
        let identity = try #require(AlertIdentity(json: original.identity.jsonBytes))
        #expect(identity == original.identity)
        #expect(view.restoring(identity) == original)
        #expect(view.sealedView == view, "marking is idempotent")
    }

    /// A box sealed before links and tags were sealed has neither: they come from the old
    /// view, which carried them; once erased, the old view reads erased all the same.
    @Test func oldBoxesWithoutLinksAndTagsStillOpen() throws {
        let original = try alert()
        let oldBox = Array(#"{"name":"Ivan Petrov","organisation":"Free Union","role":"chair","summary":"the summary","region":"Minsk"}"#.utf8)
        let identity = try #require(AlertIdentity(json: oldBox))
        #expect(identity.links == nil && identity.tags == nil && identity.summaryPublic == nil)
        var oldView = original
        oldView.defender.name = RedactionMark.erased
        oldView.summary = "[erased], chair of the union, was arrested."
        let restored = oldView.restoring(identity)
        #expect(restored.links == original.links && restored.tags == original.tags && restored.summary == "the summary")
        let erased = oldView.sealedView
        #expect(erased.summary == RedactionMark.erased && erased.links.isEmpty && erased.tags.isEmpty)
    }

    /// After erasure a reader below clearance gets the withheld text, not "[erased]" from
    /// the public summary.
    @Test func anErasedPublicSummaryReadsAsWithheld() throws {
        let erased = try alert(["summary_public": .string("An arrest.")]).sealedView
        #expect(erased.redacted(for: .public).summary == WithheldSummary.texts["en"])
    }

    // MARK: The scrubber

    func scrub(_ terms: [String], _ text: String) -> String { Alert.scrub(terms, from: text, mark: RedactionMark.redacted) }

    @Test(arguments: [
        // A no-break space and a thin space split a name like any space.
        ("Ana\u{00A0}Lopez", "Lopez and ana were seen.", "[redacted] and [redacted] were seen."),
        ("Ana\u{2009}Lopez", "LOPEZ fled.", "[redacted] fled."),
        // Apostrophes (straight and typographic), hyphens and dots split too.
        ("Seán O'Brien", "Brien, also O’Brien, and o'brien.", "[redacted], also O’[redacted], and [redacted]."),
        ("Jean-Luc Moreau", "jean and Luc met; Jean-Luc left.", "[redacted] and [redacted] met; [redacted] left."),
        ("J.-P. Dubois", "Dubois (J.-P.) spoke.", "[redacted] ([redacted]) spoke."),
        // Parts of two letters are removed, as whole words only.
        ("Al Bo", "Al raised the alarm; Bo and Bob stayed; AL left.", "[redacted] raised the alarm; [redacted] and Bob stayed; [redacted] left."),
        // A name inside a longer word is left alone: Anabel is someone else.
        ("Ana", "Anabel met Ana.", "Anabel met [redacted]."),
    ])
    func splitsNamesOnEveryWhiteSpaceAndPunctuation(name: String, text: String, expected: String) {
        #expect(scrub([name], text) == expected)
    }

    @Test func scrubsTheOrganisationAndRoleToo() {
        let text = "The chairwoman of Viasna, a Viasna Centre volunteer, spoke; the Chairwoman left."
        #expect(scrub(["Maria Ivanova", "Viasna Human Rights Centre", "chairwoman"], text)
            == "The [redacted] of [redacted], a [redacted] [redacted] volunteer, spoke; the [redacted] left.")
    }

    @Test func ignoresCaseAndMatchesNonASCIIText() {
        #expect(scrub(["Łukasz Żak"], "ŁUKASZ and żak in Gdańsk") == "[redacted] and [redacted] in Gdańsk")
        #expect(scrub(["Ted Redd"], "Ted wrote [redacted] about redd.") == "[redacted] wrote [redacted] about [redacted].")
        #expect(scrub(["Redacted"], "[redacted]") == "[[redacted]]", "terminates, each occurrence replaced once")
        #expect(scrub(["-"], "a - b") == "a - b", "a term without letters removes nothing")
    }

    // MARK: Length limits (§5)

    /// "A" and 3,000 combining marks is one grapheme cluster but 3,001 scalars: not a
    /// 1-character name.
    @Test func lengthsCountScalarsAndBytesNotGraphemeClusters() {
        let hostile = "A" + String(repeating: "\u{0301}", count: 3000)
        #expect(hostile.count == 1)
        #expect(fieldsOf(validBody(["defender": .object(["name": .string(hostile)])])) == ["defender.name"])
        #expect(fieldsOf(validBody(["region": .string(hostile)])) == ["region"])
        let link = "https://example.org/" + String(repeating: "é\u{0301}", count: 1000)
        #expect(!AlertSubmission.isWebURL(link, maxLength: AlertSubmission.Limits.link))
        #expect(fieldsOf(validBody(["tags": .array([.string("a" + String(repeating: "\u{0301}", count: 100))])])) == ["tags[0]"])
        // Four-byte scalars: 200 of them are 800 bytes, within both limits; 201 are not.
        #expect(fieldsOf(validBody(["defender": .object(["name": .string(String(repeating: "🕊", count: 200))])])).isEmpty)
        #expect(fieldsOf(validBody(["defender": .object(["name": .string(String(repeating: "🕊", count: 201))])])) == ["defender.name"])
        #expect(fieldsOf(validBody(["language": .string("en" + String(repeating: "-abcdefgh", count: 1000))])) == ["language"])
        #expect(fieldsOf(validBody(["language": .string("nl-BE")])).isEmpty)
        #expect(FieldReader.lengthProblem(String(repeating: "a", count: 10), max: 10) == nil)
        #expect(FieldReader.lengthProblem(String(repeating: "a", count: 11), max: 10) != nil)
    }

    @Test func subscriberNamesCountScalarsToo() {
        let hostile = "A" + String(repeating: "\u{0301}", count: 3000)
        let body = JSONValue.object([
            "name": .string(hostile), "kind": .string("ngo"), "organisation": .string("Org"), "contact": .string("a@example.org"),
            "channels": .array([.object(["type": .string("email"), "address": .string("a@example.org")])]),
            "subscriptions": .array([.object(["countries": .array([.string("BY")]), "min_severity": .string("low")])]),
        ])
        #expect(throws: ValidationFailure.self) { _ = try SubscriberSubmission(body: body).validate(id: "sub_1", newChannelID: { "ch_1" }) }
        do {
            _ = try SubscriberSubmission(body: body).validate(id: "sub_1", newChannelID: { "ch_1" })
        } catch {
            #expect(error.fields.map(\.field) == ["name"])
        }
    }

    // MARK: Outside numbers (§1)

    @Test func outsideNumbersConvertOnlyWhenWholeAndInRange() {
        #expect(JSONValue.number(1e19).exactInt64 == nil)
        #expect(JSONValue.number(-1e19).exactInt64 == nil)
        #expect(JSONValue.number(1.5).exactInt64 == nil)
        #expect(JSONValue.number(9_007_199_254_740_994).exactInt64 == nil)
        #expect(JSONValue.exactInt64(.nan) == nil && JSONValue.exactInt64(.infinity) == nil)
        #expect(JSONValue.number(1_795_338_843_120).exactInt64 == 1_795_338_843_120)
        #expect(JSONValue.number(-5).exactInt64 == -5)
        #expect(JSONValue.string("1").exactInt64 == nil)
        #expect(throws: JSONParseError.self) { _ = try JSONParser.parse(Array("1e999".utf8)) }
    }

    @Test func timestampArithmeticSaturates() {
        #expect(Timestamp(milliseconds: .max).adding(milliseconds: 1).milliseconds == .max)
        #expect(Timestamp(milliseconds: .min).adding(milliseconds: -1).milliseconds == .min)
        #expect(Timestamp(milliseconds: 10).adding(milliseconds: -3).milliseconds == 7)
        #expect(Timestamp(milliseconds: .min).unixSeconds == Int64.min / 1000 - 1)
        #expect(Timestamp(milliseconds: -1).unixSeconds == -1 && Timestamp(milliseconds: 1999).unixSeconds == 1)
        #expect(Timestamp(Date(timeIntervalSince1970: 1e300)).milliseconds == .max)
        #expect(Timestamp(Date(timeIntervalSince1970: -1e300)).milliseconds == .min)
        #expect(!Timestamp(milliseconds: .max).description.isEmpty && !Timestamp(milliseconds: .min).description.isEmpty)
        #expect(Timestamp(rfc3339: "99999-01-01T00:00:00Z") == nil)
    }
}
