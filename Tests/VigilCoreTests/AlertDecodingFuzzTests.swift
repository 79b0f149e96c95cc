import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// A long randomized test of alert decoding (issue 5): mutated alert bodies must either be
/// refused with field errors or become alerts that encode and parse back to themselves;
/// nothing may crash or hang, and every JSON value the parser accepts must survive a round
/// trip through Foundation's encoder.
@Suite struct AlertDecodingFuzzTests {
    static let corpus: [[UInt8]] = [
        #"{"country":"BY","threat":"arrest","severity":"critical","certainty":"observed","summary":"Union leader arrested.","defender":{"name":"Fuzz Defender","organisation":"BKDP","role":"chair","group":"trade_unionist"},"tags":["trade-union"],"links":["https://example.org/a"]}"#,
        #"{"kind":"update","case_id":"01M825CFCJ7PXX86Y361FVVH2B","country":"CO","region":"Cauca","threat":"killing","severity":"high","urgency":"immediate","certainty":"likely","confidentiality":"confidential","occurred_at":"2026-11-20T10:00:00Z","language":"es","summary":"Asesinado.","defender":{"name":"X"},"source":{"organisation":"fuzz-org","contact":"a@b.org"}}"#,
        #"{"status":"exercise","country":"BE","threat":"dismissal","severity":"low","certainty":"possible","summary":"\u00e9\ud83d\ude00 \"quoted\" \\ slash","defender":{"name":"Y Z"}}"#,
        #"[1, -0.5e10, true, false, null, {"a": [[[]]]}, "\u0000"]"#,
    ].map { Array($0.utf8) }

    @Test(.timeLimit(.minutes(5))) func mutatedAlertsAreRefusedOrRoundTrip() throws {
        let seed = UInt64(0xA1E7_F022)
        var random = Mutator(seed: seed)
        let iterations = Mutator.iterations(default: 30_000)
        var accepted = 0, refused = 0, parsedJSON = 0
        let receivedAt = Timestamp(milliseconds: 1_795_338_843_120)
        for iteration in 0..<iterations {
            let input = random.mutate(Self.corpus.randomElement(using: &random)!, corpus: Self.corpus)
            if let value = try? JSONParser.parse(input) {
                parsedJSON += 1
                let again = try JSONParser.parse(Array(JSONEncoder().encode(value)))
                #expect(again == value, "seed \(seed), iteration \(iteration)")
            }
            do {
                let alert = try AlertSubmission(json: input).validate(id: ULID(time: receivedAt), receivedAt: receivedAt, organisation: "fuzz-org")
                accepted += 1
                let decoded = try VigilJSON.decoder().decode(Alert.self, from: Data(alert.jsonBytes()))
                #expect(decoded == alert, "seed \(seed), iteration \(iteration)")
                #expect(alert.source.organisation == "fuzz-org")
            } catch let failure as ValidationFailure {
                refused += 1
                #expect(!failure.fields.isEmpty, "a refusal must say which field, seed \(seed), iteration \(iteration)")
            }
        }
        #expect(accepted > iterations / 200 && refused > iterations / 2 && parsedJSON > iterations / 10, "accepted \(accepted), refused \(refused), JSON \(parsedJSON)")
    }
}
