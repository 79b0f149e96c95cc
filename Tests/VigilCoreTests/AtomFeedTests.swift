import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// The Atom writer (issue 21): the elements RFC 4287 asks for, and no text, however hostile,
/// that can break the document or smuggle markup into it.
@Suite struct AtomFeedTests {
    static let hostile = "</title><script>alert(1)</script> & \"quoted\" \u{1}\r\n'"

    func feed(title: String = "Desk") -> AtomFeed {
        AtomFeed(
            id: "urn:vigil:feed:sub_1", title: title, updated: Timestamp(milliseconds: 1_795_338_843_120),
            links: [AtomFeed.Link(href: "https://vigil.example.org/feeds/t/alerts.atom?country=BY&x=\"", rel: "self", type: "application/atom+xml")],
            entries: [
                AtomEntry(
                    id: "urn:vigil:alert:01A", title: Self.hostile, updated: Timestamp(milliseconds: 1_795_338_843_120), summary: Self.hostile,
                    content: "Handling instructions:\n- No public statement.", categories: [AtomEntry.Category(term: "detained", scheme: "urn:vigil:case-status", label: Self.hostile)],
                    links: [AtomFeed.Link(href: "https://vigil.example.org/feeds/t/alerts/01A.cap", rel: "alternate", type: "application/cap+xml")]),
                AtomEntry(id: "urn:vigil:alert:01B", title: "second", updated: Timestamp(milliseconds: 1_795_338_000_000), summary: "s"),
            ])
    }

    @Test func writesTheElementsAFeedAndItsEntriesNeed() throws {
        let text = String(decoding: feed().bytes, as: UTF8.self)
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"))
        for part in [
            "<id>urn:vigil:feed:sub_1</id>", "<updated>2026-11-22T09:14:03.120Z</updated>", "<author>", "<name>Vigil</name>",
            "<link rel=\"self\" href=\"https://vigil.example.org/feeds/t/alerts.atom?country=BY&amp;x=&quot;\" type=\"application/atom+xml\"/>",
            "<id>urn:vigil:alert:01A</id>", "<content type=\"text\">Handling instructions:\n- No public statement.</content>",
            "<link rel=\"alternate\" href=\"https://vigil.example.org/feeds/t/alerts/01A.cap\" type=\"application/cap+xml\"/>",
            "<category term=\"detained\" scheme=\"urn:vigil:case-status\"",
        ] {
            #expect(text.contains(part), "missing \(part)")
        }
        #expect(text.components(separatedBy: "<entry>").count == 3)
    }

    @Test func hostileTextIsEscapedEverywhereAndTheDocumentParses() throws {
        let bytes = feed(title: Self.hostile).bytes
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("<script>") && !text.contains("</title><"))
        #expect(text.contains("&lt;/title&gt;&lt;script&gt;") && text.contains("&amp; &quot;quoted&quot;") && text.contains("&#13;"))
        #expect(!text.unicodeScalars.contains { $0.value == 1 }, "a control character becomes U+FFFD")
        // A real XML parser (Python's) reads it back whole: every title is the text it was
        // given (the control character as U+FFFD), none became markup.
        let script = """
            import sys, json, xml.etree.ElementTree as ET
            root = ET.fromstring(sys.stdin.buffer.read())
            print(json.dumps([t.text for t in root.iter("{http://www.w3.org/2005/Atom}title")]))
            """
        let run = try PythonHelper.run(script, stdin: text)
        #expect(run.status == 0, "\(run.stderr)")
        let expected = Self.hostile.replacingOccurrences(of: "\u{1}", with: "\u{FFFD}")
        let titles = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String]
        #expect(titles == [expected, expected, "second"])
    }
}
