// libFuzzer target: VigilCore's JSON parser and writer (issue 17 §2). Built only with
// VIGIL_FUZZ=1; see deploy/fuzz.sh.
#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import VigilCore

/// Writes `value` with `JSONWriter`, as Vigil writes its documents. Numbers the writer
/// cannot express (fractions, beyond Int64) are written as `null` and replaced by `.null` in
/// the value the round trip must give back.
private func write(_ value: JSONValue, into w: inout JSONWriter) -> JSONValue {
    switch value {
    case .null: w.null(); return .null
    case .bool(let b): w.bool(b); return value
    case .string(let s): w.string(s); return value
    case .number(let n):
        // The conversion Vigil uses for numbers from outside: exact, or refused.
        if let exact = value.exactInt64 {
            check(Double(exact) == n && abs(n) <= JSONValue.maxExactInteger, "exactInt64 made \(exact) of \(n)")
        } else {
            check(n != n.rounded(.towardZero) || abs(n) > JSONValue.maxExactInteger, "exactInt64 refused \(n)")
        }
        // Double(Int64.max) rounds up to 2^63, which does not fit: the bound is exclusive.
        if n == n.rounded(), n >= -9.223372036854775808e18, n < 9.223372036854775808e18 {
            w.integer(Int64(n))
            return .number(Double(Int64(n)))
        }
        w.null()
        return .null
    case .array(let items):
        w.beginArray()
        let written = items.map { write($0, into: &w) }
        w.endArray()
        return .array(written)
    case .object(let fields):
        w.beginObject()
        var written: [String: JSONValue] = [:]
        for key in fields.keys.sorted() {
            w.key(key)
            written[key] = write(fields[key]!, into: &w)
        }
        w.endObject()
        return .object(written)
    }
}

/// Every document the parser accepts must come back the same after `JSONWriter` writes it,
/// and anything it refuses must be refused with an offset inside the input.
private func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let value: JSONValue
    do {
        value = try JSONParser.parse(bytes)
    } catch {
        check(error.offset >= 0 && error.offset <= bytes.count, "offset \(error.offset) outside \(bytes.count) bytes")
        return 0
    }
    var w = JSONWriter()
    let expected = write(value, into: &w)
    let again: JSONValue
    do {
        again = try JSONParser.parse(w.bytes)
    } catch {
        fatalError("the parser refuses what the writer wrote: \(error): \(String(decoding: w.bytes, as: UTF8.self).debugDescription)")
    }
    check(again == expected, "round trip changed the value: \(expected) → \(again)")
    _ = value.typeName
    return 0
}

runFuzzer { data, size in
    guard let data else { return 0 }
    return fuzzOne(data, size)
}
