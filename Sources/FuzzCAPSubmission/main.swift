// libFuzzer target: the CAP 1.2 reader of `POST /v1/alerts` with `Content-Type:
// application/cap+xml` (issue 21). Built only with VIGIL_FUZZ=1; see deploy/fuzz.sh.
#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import VigilAPI
import VigilCore

/// Any bytes: refused with a reason, or read into alert JSON that Vigil's own JSON parser
/// reads back, with every problem named at a CAP element path, and a validation failure
/// translated to CAP paths too. Never a trap, whatever the document.
private func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let submission: CAPSubmission
    do {
        submission = try CAPSubmission(xml: bytes)
    } catch {
        check(!error.description.isEmpty, "a refusal without a reason")
        return 0
    }
    let (json, problems) = submission.prepared { id in id }
    do {
        _ = try JSONParser.parse(json)
    } catch {
        fatalError("the CAP reader wrote JSON its own parser refuses: \(error): \(String(decoding: json, as: UTF8.self).debugDescription)")
    }
    for problem in problems { check(!problem.field.isEmpty && !problem.message.isEmpty, "a problem without a path or a message") }
    if let failure = submission.failure(json: json, problems: problems, organisation: "fuzz") {
        check(!failure.fields.isEmpty, "a failure without problems")
    }
    return 0
}

runFuzzer { data, size in
    guard let data else { return 0 }
    return fuzzOne(data, size)
}
