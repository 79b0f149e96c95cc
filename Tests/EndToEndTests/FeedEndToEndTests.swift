import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A feed as a desk's feed reader parses it.
struct ParsedFeed: Decodable {
    struct Entry: Decodable {
        struct Link: Decodable { let rel: String?; let type: String?; let href: String? }
        let id: String; let title: String; let summary: String; let content: [String]; let links: [Link]; let tags: [String]
    }
    let bozo: Bool; let problem: String; let version: String; let id: String?; let title: String?; let entries: [Entry]
}

/// Issue 21's feeds against the running service, on either backend (`VIGIL_E2E_LOG=kafka`):
/// a desk's secret feed URL read with PyPI's `feedparser` lists exactly the alerts routed to
/// the desk at its clearance, links each to its CAP 1.2 form (valid against the OASIS schema),
/// answers `304` to a repeat with its `ETag`, stops working at
/// once when rotated, counts refused tokens against the address's failure throttle, and
/// every fetch is in the audit trail; a bearer token reads the log's feed of a country.
@Suite(.serialized) struct FeedEndToEndTests {
    /// `body` parsed by `feedparser`, as a feed reader would.
    func parse(_ body: String) throws -> ParsedFeed {
        let script = """
            import sys, json, feedparser
            d = feedparser.parse(sys.stdin.buffer.read())
            print(json.dumps({"bozo": bool(d.bozo), "problem": str(d.get("bozo_exception", "")), "version": d.version,
                "id": d.feed.get("id"), "title": d.feed.get("title"),
                "entries": [{"id": e.id, "title": e.title, "summary": e.get("summary", ""), "content": [c.value for c in e.get("content", [])],
                    "links": [{"rel": l.get("rel"), "type": l.get("type"), "href": l.get("href")} for l in e.links],
                    "tags": [t.term for t in e.get("tags", [])]} for e in d.entries]}))
            """
        let run = try PythonHelper.run(script, stdin: body)
        #expect(run.status == 0, "feedparser failed: \(run.stderr)")
        return try JSONDecoder().decode(ParsedFeed.self, from: Data(run.stdout.utf8))
    }

    struct FeedToken: Decodable { let feed_token: String; let feed_url: String }

    @Test(.timeLimit(.minutes(3))) func aDeskPullsItsAlertsAtItsClearanceAndNothingElse() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        let client = try BlockingHTTPClient(port: service.port)
        // A restricted desk following Belarus, and another desk following Colombia.
        let desk = try receivers.desk(on: service.port, path: "/ok/desk", country: "BY", clearance: "restricted")
        let other = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok/other"))"}]"#, country: "CO")
        try receivers.trust((desk.channels + other.channels).compactMap(\.secret))

        let shown = try file(service.port, country: "BY", confidentiality: "restricted", name: "Shown Defender")
        let hidden = try file(service.port, country: "BY", confidentiality: "confidential", name: "Hidden Defender")
        let elsewhere = try file(service.port, country: "CO", confidentiality: "public", name: "Elsewhere Defender")
        // An update of the first case: its case status and the filer's handling instructions.
        let updated = try client.request("POST", "/v1/alerts", body: followThroughAlert(
            kind: "update", caseID: shown, extra: #","case_status":"detained","handling":{"no_public_statement":true,"note":"Family asks for quiet."}"#),
            headers: auth)
        #expect(updated.status == 202, "\(updated.text)")
        let update = try JSONDecoder().decode(Accepted.self, from: Data(updated.body)).id
        for alert in [shown, hidden, elsewhere, update] { #expect(try eventually(30) { try !states(service.port, of: alert).isEmpty }, "\(alert) routed") }

        // The feed URL, shown once; feed readers send no Authorization header.
        let made = try client.request("POST", "/v1/subscribers/\(desk.id)/feed-token", headers: auth)
        #expect(made.status == 201, "\(made.text)")
        let token = try JSONDecoder().decode(FeedToken.self, from: Data(made.body))
        let base = "http://127.0.0.1:\(service.port)"
        #expect(token.feed_url == "\(base)/feeds/\(token.feed_token)/alerts.atom")
        let path = String(token.feed_url.dropFirst(base.count))
        let fetched = try client.request("GET", path)
        #expect(fetched.status == 200, "\(fetched.text)")
        #expect(fetched.headers["content-type"] == "application/atom+xml; charset=utf-8")
        let etag = try #require(fetched.headers["etag"])

        let feed = try parse(fetched.text)
        #expect(!feed.bozo, "feedparser: \(feed.problem)")
        #expect(feed.version == "atom10" && feed.id == "urn:vigil:feed:\(desk.id)")
        #expect(feed.entries.map(\.id) == [update, hidden, shown].map { "urn:vigil:alert:\($0)" }, "exactly the desk's alerts, newest first")
        for entry in feed.entries {
            let id = String(entry.id.dropFirst("urn:vigil:alert:".count))
            #expect(entry.links.contains { $0.rel == "alternate" && $0.type == "application/cap+xml" && $0.href == "\(base)/feeds/\(token.feed_token)/alerts/\(id).cap" })
            #expect(entry.title.contains("Bélarus") || entry.title.contains("Belarus"), "a title like the email subject: \(entry.title)")
            #expect(entry.tags.contains("BY") && entry.tags.contains("arrest"))
        }
        // At the desk's clearance: the restricted alert's defender shown, the confidential one's never.
        #expect(fetched.text.contains("Shown Defender"))
        #expect(!fetched.text.contains("Hidden Defender") && !fetched.text.contains("Elsewhere Defender"))
        // The update carries its case status and handling instructions, as categories and in
        // the content (the email's text, in the desk's language: French).
        let follow = try #require(feed.entries.first { $0.id.hasSuffix(update) })
        #expect(follow.tags.contains("detained") && follow.tags.contains("no_public_statement"), "\(follow.tags)")
        #expect(follow.content.first?.contains("Family asks for quiet.") == true && follow.content.first?.contains("Statut du dossier: detained") == true,
            "\(follow.content)")
        let confidential = try #require(feed.entries.first { $0.id.hasSuffix(hidden) })
        #expect(WithheldSummary.isWithheld(confidential.summary), "no summary above the desk's clearance: \(confidential.summary)")

        // Each entry's CAP form, through the same secret: valid CAP 1.2 at the desk's clearance;
        // an alert not routed to the desk is not there.
        var documents: [(String, [UInt8])] = []
        for alert in [update, hidden, shown] {
            let cap = try client.request("GET", "/feeds/\(token.feed_token)/alerts/\(alert).cap")
            #expect(cap.status == 200 && cap.headers["content-type"] == "application/cap+xml", "\(cap.status) \(cap.text)")
            #expect(cap.text.contains("<identifier>\(alert)</identifier>"))
            #expect(!cap.text.contains("Hidden Defender"))
            documents.append((alert, cap.body))
        }
        let validation = try CAPSchema.validate(CAPSchema.write(documents))
        #expect(validation.status == 0, "\(validation.output)")
        #expect(try client.request("GET", "/feeds/\(token.feed_token)/alerts/\(elsewhere).cap").status == 404)

        // A repeat with the ETag: 304, nothing sent; `?country=` narrows, a bad one is refused.
        let repeated = try client.request("GET", path, headers: ["If-None-Match": etag])
        #expect(repeated.status == 304 && repeated.body.isEmpty && repeated.headers["etag"] == etag)
        #expect(try parse(try client.request("GET", path + "?country=BY").text).entries.count == 3)
        #expect(try parse(try client.request("GET", path + "?country=CO").text).entries.isEmpty)
        #expect(try client.request("GET", path + "?country=Belarus").status == 400)

        // Every fetch is audited under the feed, naming the alerts it returned.
        #expect(try eventually(20) {
            try auditEntries(service.port, action: "alert.read").contains { $0.token_id == "feed:\(desk.id)" && $0.target == "\(update),\(hidden),\(shown)" && $0.detail.contains("(304)") }
        }, "the fetches are in the audit trail")
        #expect(try eventually(20) {
            try auditEntries(service.port, action: "alert.read").contains { $0.token_id == "feed:\(desk.id)" && $0.target == hidden && $0.detail.contains("CAP") }
        }, "and so are the CAP reads")

        // A bearer token reads the log's feed of a country at its clearance.
        let reader = try issueToken(service, org: "partner-ngo", scopes: "alerts:read", clearance: "public")
        let byFeed = try client.request("GET", "/v1/feeds/alerts.atom?country=BY", headers: reader.headers)
        #expect(byFeed.status == 200 && byFeed.headers["content-type"] == "application/atom+xml; charset=utf-8")
        let parsedBY = try parse(byFeed.text)
        #expect(!parsedBY.bozo && parsedBY.entries.map(\.id) == [update, hidden, shown].map { "urn:vigil:alert:\($0)" })
        #expect(!byFeed.text.contains("Shown Defender") && !byFeed.text.contains("Hidden Defender") && !byFeed.text.contains("Family asks"),
            "a public token sees no identity and no note")
        #expect(try parse(try client.request("GET", "/v1/feeds/alerts.atom?country=CO", headers: auth).text).entries.map(\.id) == ["urn:vigil:alert:\(elsewhere)"])
        #expect(try client.request("GET", "/v1/feeds/alerts.atom").status == 401)
        #expect(try eventually(20) { try auditEntries(service.port, action: "alert.read").contains { $0.token_id == reader.id && $0.target == "\(update),\(hidden),\(shown)" } })

        // Rotation: the old URL is gone at once, the new one works.
        let rotated = try JSONDecoder().decode(FeedToken.self, from: Data(try client.request("POST", "/v1/subscribers/\(desk.id)/feed-token", headers: auth).body))
        #expect(rotated.feed_token != token.feed_token)
        #expect(try client.request("GET", path).status == 404)
        #expect(try client.request("GET", String(rotated.feed_url.dropFirst(base.count))).status == 200)
        // Another organisation's admin cannot make the desk's feed.
        let stranger = try issueToken(service, org: "someone-else", scopes: "subscribers:admin", clearance: "restricted")
        #expect(try client.request("POST", "/v1/subscribers/\(desk.id)/feed-token", headers: stranger.headers).status == 403)

        // Refused tokens count against the address: after the limit, 429 before any lookup.
        var statuses: [Int] = []
        for attempt in 0..<12 { statuses.append(try client.request("GET", "/feeds/guess\(attempt)/alerts.atom").status) }
        #expect(statuses.contains(404) && statuses.last == 429, "\(statuses)")
    }
}
