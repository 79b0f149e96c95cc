import Foundation
import Testing
import VigilTestSupport
@testable import VigilConsole

@Suite struct QRCodeTests {
    /// Texts for every version from 1 to 10: UTF-8 beyond Latin-1, one to five blocks, short
    /// and long blocks mixed, version information (7 and up), an `otpauth://` URI, and a
    /// text at the version-10 limit.
    static let texts: [(text: String, version: Int)] = [
        ("Vigil", 1),
        (String(repeating: "0123456789", count: 2), 2),
        ("Zoë — défenseure, Ташкент", 3),  // 36 bytes
        (String(repeating: "0123456789", count: 5), 4),
        (String(repeating: "0123456789", count: 7), 5),
        (String(repeating: "0123456789", count: 9), 6),
        (String(repeating: "abcdefghij", count: 11), 7),
        ("otpauth://totp/Vigil:ana%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Vigil&algorithm=SHA1&digits=6&period=30", 8),
        (String(repeating: "The quick brown fox. ", count: 8), 9),  // 168 bytes
        (String(repeating: "x", count: 213), 10),
    ]
    /// The `otpauth://` URI.
    static let uri = texts[7].text

    /// Runs `segno` (PyPI), an encoder we did not write, on `cases` (text, version, mask; no
    /// mask means segno chooses): per case, its version, its mask and its matrix, one row of
    /// 0s and 1s a line. The text goes in as UTF-8 bytes, which segno puts in byte mode as is.
    static func segno(_ cases: [(text: String, version: Int?, mask: Int?)]) throws
        -> [(version: Int, mask: Int, rows: [String])]
    {
        struct Case: Encodable { let text: String; let version: Int?; let mask: Int? }
        // segno 1.6.6 adds a whole zero codeword when the bit stream already ends on a byte
        // boundary after the terminator (heuer/segno#148, open): ISO/IEC 18004 §7.4.10 adds
        // padding bits only when it does not. The script replaces that one function with the
        // standard's rule; everything else (codewords, error correction, interleaving,
        // placement, masks, format and version information) is segno's own.
        let script = """
            import json, sys, segno
            from segno import encoder
            def write_padding_bits(buff, version, length):
                buff.extend([0] * (-length % 8))
            encoder.write_padding_bits = write_padding_bits
            for case in json.load(sys.stdin):
                qr = segno.make_qr(case["text"].encode("utf-8"), error="m", version=case.get("version"), mask=case.get("mask"), mode="byte", boost_error=False)
                assert qr.error == "M" and qr.mode == "byte", (qr.error, qr.mode)
                print(qr.version, qr.mask, ",".join("".join(str(bit) for bit in row) for row in qr.matrix))
            """
        let input = String(decoding: try JSONEncoder().encode(cases.map { Case(text: $0.text, version: $0.version, mask: $0.mask) }), as: UTF8.self)
        let result = try PythonHelper.run(script, stdin: input, timeout: 60)
        guard result.status == 0 else { throw SegnoFailure(description: result.stderr) }
        return result.stdout.split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            return (Int(fields[0]) ?? -1, Int(fields[1]) ?? -1, fields[2].split(separator: ",").map(String.init))
        }
    }

    struct SegnoFailure: Error, CustomStringConvertible { let description: String }

    /// The module matrix as rows of 0s and 1s.
    static func rows(_ code: QRCode) -> [String] {
        (0..<code.size).map { y in String((0..<code.size).map { x in code.isDark(x: x, y: y) ? "1" : "0" }) }
    }

    static var hasPython: Bool {
        if ProcessInfo.processInfo.environment["VIGIL_PYTHON"] != nil { return true }
        print("QRCodeTests: segno comparison skipped, VIGIL_PYTHON is unset (point it at /work/main/.venv/bin/python3, which has segno)")
        return false
    }

    /// Bit for bit what segno makes with the same version, level M, byte mode and mask: each
    /// text with the mask we chose, and the `otpauth://` URI with every mask.
    @Test func matchesSegnoModuleForModule() throws {
        guard Self.hasPython else { return }
        var ours: [QRCode] = []
        for (text, version) in Self.texts {
            let code = try QRCode(text)
            #expect(code.version == version, "\(text.utf8.count) bytes")
            ours.append(code)
        }
        for mask in 0..<8 { ours.append(try QRCode(Self.uri, version: nil, mask: mask)) }
        ours.append(try QRCode("Vigil", version: 3, mask: 5))
        #expect(ours.last?.version == 3, "a larger version than needed, when asked")
        let texts = Self.texts.map(\.text) + Array(repeating: Self.uri, count: 8) + ["Vigil"]
        let theirs = try Self.segno(zip(texts, ours).map { ($0, $1.version, $1.mask) })
        try #require(theirs.count == ours.count)
        for (index, (code, reference)) in zip(ours, theirs).enumerated() {
            #expect(code.size == 17 + 4 * code.version)
            #expect(reference.version == code.version && reference.mask == code.mask, "case \(index)")
            Self.expectSame(code, reference.rows, "case \(index): version \(code.version), mask \(code.mask)")
        }
    }

    /// segno, left to choose version and mask itself, picks the same ones: the smallest
    /// version that holds the text, and the same mask under the penalty rules.
    @Test func choosesTheVersionAndMaskSegnoChooses() throws {
        guard Self.hasPython else { return }
        let ours = try Self.texts.map { try QRCode($0.text) }
        let theirs = try Self.segno(Self.texts.map { ($0.text, nil, nil) })
        try #require(theirs.count == ours.count)
        for (code, reference) in zip(ours, theirs) {
            #expect(code.version == reference.version)
            #expect(code.mask == reference.mask, "version \(code.version): our mask \(code.mask), segno's \(reference.mask)")
            Self.expectSame(code, reference.rows, "version \(code.version), segno's own choices")
        }
    }

    /// One expectation for the whole matrix, and the first row that differs if any.
    static func expectSame(_ code: QRCode, _ reference: [String], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let mine = rows(code)
        let same = mine == reference
        #expect(same, "\(what) differs from segno", sourceLocation: sourceLocation)
        if !same, let row = mine.indices.first(where: { $0 >= reference.count || mine[$0] != reference[$0] }) {
            print("\(what): first differing row \(row)\n  ours   \(mine[row])\n  segno  \(row < reference.count ? reference[row] : "-")")
        }
    }

    @Test func refusesTextOverTheVersion10Limit() throws {
        #expect(QRCode.maximumBytes == 213)
        let atLimit = try QRCode(String(repeating: "a", count: 213))
        #expect(atLimit.version == 10 && atLimit.size == 57)
        #expect(throws: QRCodeError.tooLong(bytes: 214, max: 213)) { try QRCode(String(repeating: "a", count: 214)) }
        // Bytes, not characters: 107 two-byte characters are 214 bytes.
        #expect(throws: QRCodeError.tooLong(bytes: 214, max: 213)) { try QRCode(String(repeating: "é", count: 107)) }
        #expect(throws: QRCodeError.self) { try QRCode(String(repeating: "a", count: 100_000)) }
    }

    @Test func svgIsOnePathOnWhiteWithoutStyles() throws {
        let code = try QRCode(Self.uri)
        let svg = code.svg(label: "Scan with an authenticator app: \"Vigil\" <ana@example.org>").markup
        let side = code.size + 8
        #expect(svg.hasPrefix(#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(side) \#(side)" width="\#(side * 4)" height="\#(side * 4)" role="img" "#))
        #expect(svg.contains(#"aria-label="Scan with an authenticator app: &quot;Vigil&quot; &lt;ana@example.org&gt;""#))
        #expect(svg.contains(#"id="totp-qr""#))
        #expect(svg.contains(##"<rect width="\##(side)" height="\##(side)" fill="#fff"/>"##))
        #expect(svg.hasSuffix("\"/></svg>"))
        #expect(!svg.lowercased().contains("style"))
        #expect(!svg.lowercased().contains("script"))
        #expect(svg.components(separatedBy: "<path").count == 2, "exactly one path")
        #expect(svg.components(separatedBy: "<").count == 5, "svg, rect, path and the closing tag, nothing else")
        // The path draws exactly the dark modules, shifted by the quiet zone.
        let d = try #require(svg.components(separatedBy: #" d=""#).last?.components(separatedBy: "\"").first)
        let squares = d.components(separatedBy: "z").filter { !$0.isEmpty }
        var drawn = Set<[Int]>()
        for square in squares {
            #expect(square.hasPrefix("M") && square.hasSuffix("h1v1h-1"), "\(square)")
            let numbers = square.dropFirst().dropLast(7).split(separator: " ").compactMap { Int($0) }
            try #require(numbers.count == 2)
            drawn.insert([numbers[0] - 4, numbers[1] - 4])
        }
        var dark = Set<[Int]>()
        for y in 0..<code.size { for x in 0..<code.size where code.isDark(x: x, y: y) { dark.insert([x, y]) } }
        #expect(squares.count == dark.count)
        #expect(drawn == dark)
        // Other sizes scale the pixels, not the modules.
        let big = code.svg(moduleSize: 8, quietZone: 2, label: "QR").markup
        #expect(big.contains(#"viewBox="0 0 \#(code.size + 4) \#(code.size + 4)" width="\#((code.size + 4) * 8)""#))
    }

    @Test func outsideTheSymbolIsLight() throws {
        let code = try QRCode("Vigil")
        #expect(code.version == 1 && code.size == 21)
        #expect(!code.isDark(x: -1, y: 0) && !code.isDark(x: 0, y: 21) && !code.isDark(x: 21, y: 21))
        // The finder pattern's corner and the dark module are where ISO/IEC 18004 puts them.
        #expect(code.isDark(x: 0, y: 0) && code.isDark(x: 20, y: 0) && code.isDark(x: 0, y: 20))
        #expect(code.isDark(x: 8, y: 13))
        #expect(!code.isDark(x: 7, y: 7))
    }
}
