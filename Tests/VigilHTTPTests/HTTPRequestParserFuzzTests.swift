import Testing
import VigilTestSupport
@testable import VigilHTTP

/// A long randomized test of the request parser (issue 5): mutated requests are fed whole
/// and in random pieces; the parser must never crash, never consume more than it was given,
/// keep bodies to their Content-Length and limits, and reach the same answers either way.
@Suite struct HTTPRequestParserFuzzTests {
    static let corpus: [[UInt8]] = [
        "GET /v1/alerts?country=BY&limit=10 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n",
        "POST /v1/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"country\":1}",
        "POST /v1/alerts HTTP/1.1\r\nContent-Length: 0\r\nExpect: 100-continue\r\nIdempotency-Key: k1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\n\r\nGET /readyz HTTP/1.1\r\nConnection: close\r\n\r\n",
        "PUT /v1/subscribers/sub_1 HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}",
        "DELETE /v1/subscribers/%41 HTTP/1.1\r\nX-A: b\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ].map { Array($0.utf8) }

    enum Step: Equatable {
        case request(method: String, target: String, body: [UInt8], consumed: Int)
        case failure(HTTPParseError)
        case incomplete
    }

    /// Parses `bytes` arriving in pieces whose sizes come from `sizes`, until it fails or
    /// runs out of bytes.
    static func run(_ bytes: [UInt8], pieces sizes: [Int]) -> [Step] {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 4096)
        var buffer: [UInt8] = []
        var start = 0, fed = 0, sizeIndex = 0
        var steps: [Step] = []
        while true {
            switch parser.parse(buffer, from: start) {
            case .request(let request, let consumed):
                precondition(consumed > 0 && consumed <= buffer.count - start, "consumed \(consumed) of \(buffer.count - start)")
                precondition(request.body.count <= 4096)
                steps.append(.request(method: request.method, target: request.target, body: request.body, consumed: consumed))
                start += consumed
                continue
            case .head(let head):
                precondition(head.body.isEmpty)
                continue
            case .failure(let error):
                steps.append(.failure(error))
                return steps
            case .needMore, .awaitingBody:
                guard fed < bytes.count else {
                    steps.append(.incomplete)
                    return steps
                }
                let size = sizes.isEmpty ? bytes.count : max(1, sizes[sizeIndex % sizes.count])
                sizeIndex += 1
                let next = min(bytes.count, fed + size)
                buffer.append(contentsOf: bytes[fed..<next])
                fed = next
            }
        }
    }

    @Test(.timeLimit(.minutes(5))) func mutatedRequestsParseTheSameWholeOrInPieces() {
        let seed = UInt64(0x5157_1C11)
        var random = Mutator(seed: seed)
        let iterations = Mutator.iterations(default: 30_000)
        var outcomes: [String: Int] = [:]
        for iteration in 0..<iterations {
            let input = random.mutate(Self.corpus.randomElement(using: &random)!, corpus: Self.corpus)
            let whole = Self.run(input, pieces: [])
            let pieces = (0..<4).map { _ in Int.random(in: 1...12, using: &random) }
            let split = Self.run(input, pieces: pieces)
            #expect(whole == split, "seed \(seed), iteration \(iteration): \(String(decoding: input, as: UTF8.self).debugDescription)")
            if whole != split { return }
            if case .failure(let error)? = whole.last { outcomes["\(error.status)", default: 0] += 1 } else { outcomes["parsed", default: 0] += 1 }
        }
        // The mutations must reach both sides of the parser, or the test proves little.
        #expect(outcomes["parsed", default: 0] > iterations / 20 && outcomes["400", default: 0] > iterations / 20, "\(outcomes)")
    }
}
