import Foundation
import VigilCore

/// `vigil subscribers add|list|remove`: manages subscribers through the API.
enum SubscribersCommand: Command {
    static let path = ["subscribers"]
    static let summary = "add, list or remove subscribers (desks, delegations, NGOs)"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil subscribers add --file SUBSCRIBER.json|-  [--json]
               vigil subscribers list [--json]
               vigil subscribers remove SUBSCRIBER_ID

        add stores a subscriber as POST /v1/subscribers takes it (see the README) and prints its
        id; a new webhook channel's whsec_ signing secret is printed once, here and never again.
        Needs a token with the subscribers:admin scope in VIGIL_TOKEN.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        guard let action = arguments.positional.first else { throw UsageError("say add, list or remove") }
        let json = arguments.flag("json")
        let file = arguments.value("file")
        let client = try APIClient(environment: environment, url: arguments.value("url"), token: arguments.value("token"))
        try arguments.finish()
        switch action {
        case "add":
            guard let file else { throw UsageError("--file is required (- for standard input)") }
            let body = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let body else { throw ClientError(description: "cannot read \(file)") }
            let (status, answer) = try client.send("POST", "/v1/subscribers", body: body)
            guard status == 201 else { throw ClientError(description: APIClient.explain(status, answer)) }
            if json { print(String(decoding: answer, as: UTF8.self)); return }
            struct Created: Decodable {
                struct ChannelBody: Decodable { let id: String; let type: String; let secret: String? }
                let id: String
                let channels: [ChannelBody]
            }
            let created = try JSONDecoder().decode(Created.self, from: answer)
            print(created.id)
            for channel in created.channels {
                if let secret = channel.secret { print("\(channel.id)\twebhook secret (shown once): \(secret)") }
            }
        case "list":
            let (status, answer) = try client.send("GET", "/v1/subscribers")
            guard status == 200 else { throw ClientError(description: APIClient.explain(status, answer)) }
            if json { print(String(decoding: answer, as: UTF8.self)); return }
            struct Listing: Decodable {
                struct Item: Decodable {
                    struct ChannelBody: Decodable { let type: String; let url: String?; let address: String? }
                    let id: String; let name: String; let kind: String; let clearance: String; let channels: [ChannelBody]
                }
                let subscribers: [Item]
            }
            for s in try JSONDecoder().decode(Listing.self, from: answer).subscribers {
                print("\(s.id)\t\(s.kind)\t\(s.clearance)\t\(s.name)\t" + s.channels.map { "\($0.type):\($0.url ?? $0.address ?? "")" }.joined(separator: ","))
            }
        case "remove":
            guard arguments.positional.count == 2 else { throw UsageError("give the subscriber id to remove") }
            let (status, answer) = try client.send("DELETE", "/v1/subscribers/\(arguments.positional[1])")
            guard status == 204 else { throw ClientError(description: APIClient.explain(status, answer)) }
            print("removed \(arguments.positional[1])")
        default:
            throw UsageError("unknown action '\(action)'; say add, list or remove")
        }
    }
}
