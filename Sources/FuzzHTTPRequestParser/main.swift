// libFuzzer target: VigilHTTP's request parser (issue 17 §2). Built only with VIGIL_FUZZ=1;
// see deploy/fuzz.sh.
#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
@testable import VigilHTTP

/// Limits small enough that the fuzzer reaches them, as `HTTPConnection` applies them.
private let maxHeaderBytes = 1024
private let maxBodyBytes = 4096

/// One parser run, as `HTTPConnection` drives it: bytes arrive in pieces, requests are
/// taken from the front of the buffer until the parser needs more or refuses.
private func run(_ bytes: ArraySlice<UInt8>, pieceSize: Int) -> [String] {
    var parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    var buffer: [UInt8] = []
    var start = 0
    var fed = bytes.startIndex
    var answers: [String] = []
    while true {
        switch parser.parse(buffer, from: start) {
        case .request(let request, let consumed):
            check(consumed > 0 && consumed <= buffer.count - start, "consumed \(consumed) of \(buffer.count - start)")
            check(request.body.count <= maxBodyBytes, "a body of \(request.body.count) bytes over the limit")
            if let length = request.headers["content-length"] {
                check(Int(length) == request.body.count, "Content-Length \(length) but a body of \(request.body.count)")
            } else {
                check(request.body.isEmpty, "a body without Content-Length")
            }
            check(request.target.hasPrefix("/"))
            answers.append("\(request.method) \(request.target) \(request.body.count) \(consumed)")
            start += consumed
        case .head(let request):
            // Reported once per request, before its body; parsing goes on from there.
            check(request.body.isEmpty, "a head carrying a body")
            check(request.target.hasPrefix("/"))
            answers.append("head \(request.method) \(request.target)")
        case .failure(let error):
            check((400...505).contains(error.status))
            answers.append("failure \(error.status)")
            return answers
        case .needMore, .awaitingBody:
            guard fed < bytes.endIndex else {
                answers.append("incomplete")
                return answers
            }
            let next = min(bytes.endIndex, fed + pieceSize)
            buffer.append(contentsOf: bytes[fed..<next])
            fed = next
        }
    }
}

/// The first byte chooses the piece size for the incremental run; the rest is the stream.
/// Whole or in pieces, the parser must reach the same answers.
private func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let pieceSize = Int(input[0]) + 1
    let stream = input[1...]
    let whole = run(stream, pieceSize: max(stream.count, 1))
    let pieces = run(stream, pieceSize: pieceSize)
    check(whole == pieces, "whole \(whole) but in pieces of \(pieceSize) \(pieces)")
    return 0
}

runFuzzer { data, size in
    guard let data else { return 0 }
    return fuzzOne(data, size)
}
