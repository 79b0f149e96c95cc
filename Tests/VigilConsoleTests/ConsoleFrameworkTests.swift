import Testing
import Synchronization
import VigilHTTP
@testable import VigilConsole

@Suite struct ConsoleFrameworkTests {
    @Test func languageComesFromTheAccountThenAcceptLanguageThenEnglish() {
        #expect(ConsoleLanguage.negotiate(account: "nl", acceptLanguage: "fr", partnerPage: false) == .nl)
        #expect(ConsoleLanguage.negotiate(account: nil, acceptLanguage: "de-DE, fr;q=0.8, nl;q=0.9", partnerPage: false) == .nl)
        #expect(ConsoleLanguage.negotiate(account: nil, acceptLanguage: "fr-BE", partnerPage: false) == .fr)
        #expect(ConsoleLanguage.negotiate(account: nil, acceptLanguage: "de", partnerPage: false) == .en)
        #expect(ConsoleLanguage.negotiate(account: nil, acceptLanguage: nil, partnerPage: true) == .en)
        // Spanish and Russian only on the partner pages; English elsewhere.
        #expect(ConsoleLanguage.negotiate(account: "es", acceptLanguage: nil, partnerPage: true) == .es)
        #expect(ConsoleLanguage.negotiate(account: "ru", acceptLanguage: nil, partnerPage: false) == .en)
        #expect(ConsoleLanguage.negotiate(account: nil, acceptLanguage: "ru, fr;q=0.5", partnerPage: false) == .fr)
        // q=0 refuses a language; a malformed weight counts as 0.
        #expect(ConsoleLanguage.negotiate(account: nil, acceptLanguage: "fr;q=0, nl;q=abc", partnerPage: false) == .en)
    }

    @Test func everyTextHasItsLanguages() {
        for (key, texts) in ConsoleText.catalogue {
            let prefix = String(key.split(separator: ".").first ?? "")
            let needed = ConsoleText.partnerPrefixes.contains(prefix) ? 5 : 3
            #expect(texts.count >= needed && texts.prefix(needed).allSatisfy { !$0.isEmpty }, "'\(key)' needs \(needed) languages, has \(texts.count)")
        }
        #expect(ConsoleText(.fr)["login.title"] == "Connexion")
        #expect(ConsoleText(.ru)["nav.alerts"] == "Оповещения")
        #expect(ConsoleText(.nl)["no.such.key"] == "no.such.key")
        #expect(ConsoleText(.es).word("threat", "arrest") == "Arresto")
        #expect(ConsoleText(.es).word("threat", "unheard_of") == "unheard of")
    }

    @Test func formBodiesAreDecodedAndBounded() {
        let form = FormBody(Array("a=1&b=x+y%21&b=2&c=%E2%82%AC&bad=%ZZ&=empty&links=one%0D%0Atwo%0A%0A".utf8))
        #expect(form["a"] == "1")
        #expect(form.all("b") == ["x y!", "2"])
        #expect(form["c"] == "€")
        #expect(form["bad"] == nil)
        #expect(form.lines("links") == ["one", "two"])
        // A textarea's CRLF line breaks come back as `\n`, never as a stray `\r` (shown as U+FFFD).
        #expect(form["links"] == "one\ntwo\n\n")
        #expect(FormBody(Array("t=a%0Db".utf8))["t"] == "a\nb")
        #expect(!form.isChecked("missing") && form.isChecked("a"))
        let many = (0..<1000).map { "f\($0)=v" }.joined(separator: "&")
        #expect(FormBody(Array(many.utf8)).values.count == FormBody.maxFields)
    }

    @Test func sameOriginCheckUsesFetchMetadataThenOrigin() {
        func request(_ headers: [(String, String)]) -> HTTPRequest {
            var h = HTTPHeaders()
            for (name, value) in headers { h.add(name, value) }
            return HTTPRequest(method: "POST", target: "/console/login", headers: h)
        }
        #expect(SameOriginCheck.allows(request([("sec-fetch-site", "same-origin"), ("origin", "null"), ("host", "127.0.0.1:8080")])))
        #expect(!SameOriginCheck.allows(request([("sec-fetch-site", "cross-site"), ("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")])))
        #expect(!SameOriginCheck.allows(request([("sec-fetch-site", "same-site"), ("host", "127.0.0.1:8080")])))
        #expect(SameOriginCheck.allows(request([("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")])))
        #expect(!SameOriginCheck.allows(request([("origin", "https://evil.example"), ("host", "127.0.0.1:8080")])))
        #expect(!SameOriginCheck.allows(request([("origin", "null"), ("host", "127.0.0.1:8080")])))
        #expect(SameOriginCheck.allows(request([("host", "127.0.0.1:8080")])))
    }

    @Test func csrfTokensAreBoundToTheirCookieAndKey() {
        let tokens = CSRFToken(key: Array(repeating: 7, count: 32))
        let token = tokens.token(for: "session-a")
        #expect(tokens.verify(token, for: "session-a"))
        #expect(!tokens.verify(token, for: "session-b"))
        #expect(!CSRFToken(key: Array(repeating: 8, count: 32)).verify(token, for: "session-a"))
        #expect(!tokens.verify(nil, for: "session-a") && !tokens.verify("", for: "session-a") && !tokens.verify("%%%", for: "session-a"))
        #expect(!tokens.verify(String(repeating: "A", count: 500), for: "session-a"))
    }

    @Test func failedSignInsAreThrottledPerAccountAndPerAddress() {
        let now = Mutex(0.0)
        let throttle = LoginThrottle(accountLimit: 3, addressLimit: 5, window: 60, clock: { now.withLock { $0 } })
        for _ in 0..<3 { throttle.fail(account: "a@x.org", address: "10.0.0.1") }
        #expect(throttle.wait(account: "a@x.org", address: "10.0.0.2") == 60)
        #expect(throttle.wait(account: "b@x.org", address: "10.0.0.1") == nil)
        for _ in 0..<2 { throttle.fail(account: "c@x.org", address: "10.0.0.1") }
        #expect(throttle.wait(account: "d@x.org", address: "10.0.0.1") == 60)
        now.withLock { $0 = 30 }
        #expect(throttle.wait(account: "a@x.org", address: "10.0.0.9") == 30)
        now.withLock { $0 = 61 }
        #expect(throttle.wait(account: "a@x.org", address: "10.0.0.1") == nil)
        throttle.fail(account: "e@x.org", address: "10.0.0.3")
        throttle.succeed(account: "e@x.org")
        #expect(throttle.wait(account: "e@x.org", address: "10.0.0.4") == nil)
    }
}
