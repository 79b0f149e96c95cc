import Testing
@testable import VigilHTTP

@Suite struct HTMLTests {
    @Test func interpolatedTextIsEscapedAndLiteralsAreNot() {
        let name = "<script>alert('x')</script> & \"friends\""
        let html: HTML = "<p title=\"\(name)\">\(name)</p>"
        #expect(html.markup == "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;friends&quot;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;friends&quot;</p>")
    }

    @Test func markupIsInsertedOnceAndNotEscapedTwice() {
        let inner: HTML = "<b>\("a&b")</b>"
        let outer: HTML = "<p>\(inner)</p>"
        #expect(outer.markup == "<p><b>a&amp;b</b></p>")
    }

    @Test func controlCharactersAreReplaced() {
        let html: HTML = "\("a\u{0}b\u{1B}c\nd")"
        #expect(html.markup == "a\u{FFFD}b\u{FFFD}c\nd")
    }
}
