import Foundation
import Synchronization
import VigilConcurrency
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A failure talking to a Vigil server, phrased for the person at the terminal.
struct ClientError: Error, CustomStringConvertible {
    let description: String
}

/// The HTTP client of the client commands; reads `VIGIL_URL` and `VIGIL_TOKEN`.
struct APIClient {
    let baseURL: URL
    let token: String

    init(environment: [String: String], url: String?, token: String?) throws(ClientError) {
        let text = url ?? environment["VIGIL_URL"] ?? "http://127.0.0.1:8080"
        guard let base = URL(string: text), base.scheme == "http" || base.scheme == "https" else {
            throw ClientError(description: "VIGIL_URL must be an http(s) URL, got '\(text)'")
        }
        guard let token = token ?? environment["VIGIL_TOKEN"], !token.isEmpty else {
            throw ClientError(description: "set VIGIL_TOKEN (or --token) to a token with the needed scope")
        }
        baseURL = base
        self.token = token
    }

    /// Sends one request and returns the status and body.
    func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:], timeout: Double = 30) throws(ClientError) -> (Int, Data) {
        guard let url = URL(string: path, relativeTo: baseURL) else { throw ClientError(description: "bad path \(path)") }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        // The command's main thread waits (`BlockingPool.wait`) for URLSession's answer.
        let (data, status, error) = BlockingPool.wait { (answer: @escaping @Sendable (Answer) -> Void) in
            URLSession.shared.dataTask(with: request) { data, response, error in
                answer(Answer(data: data, status: (response as? HTTPURLResponse)?.statusCode, error: error))
            }.resume()
        }.parts
        if let error { throw ClientError(description: "cannot reach \(baseURL.absoluteString): \(error.localizedDescription)") }
        guard let status else { throw ClientError(description: "no response from \(baseURL.absoluteString)") }
        return (status, data ?? Data())
    }

    /// What URLSession answered.
    private struct Answer: @unchecked Sendable {
        // @unchecked: `Error` from URLSession is not always Sendable-checked on Linux; the value is only read after the wait returns.
        let data: Data?
        let status: Int?
        let error: Error?
        var parts: (Data?, Int?, Error?) { (data, status, error) }
    }

    /// The server's `message`, or the field errors, from an error body.
    static func explain(_ status: Int, _ body: Data) -> String {
        struct ErrorBody: Decodable {
            struct Field: Decodable { let field: String; let message: String }
            let error: String?
            let message: String?
            let fields: [Field]?
        }
        guard let parsed = try? JSONDecoder().decode(ErrorBody.self, from: body) else {
            return "the server answered \(status)"
        }
        if let fields = parsed.fields, !fields.isEmpty {
            return "the server refused the alert (\(status)): " + fields.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        }
        return "the server answered \(status): \(parsed.message ?? parsed.error ?? "no reason given")"
    }

    /// `text` as one path segment: everything but unreserved characters percent-encoded.
    static func pathComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
