import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads a CAP body into `CAPElement`s with FoundationXML's `XMLParser`, after screening the
/// bytes: no DTD, entity or other markup declaration ever reaches the parser (so nothing can
/// be expanded or fetched), only UTF-8, and the depth and number of elements are bounded
/// while parsing.
///
/// FoundationXML is I/O-free here but is not part of Foundation proper, and VigilCore
/// depends on Foundation only; reading CAP therefore lives in VigilAPI, beside the route that
/// takes it.
final class CAPTreeReader: NSObject, XMLParserDelegate {
    /// Deepest nesting read (`alert/info/area/geocode/value` is 5).
    static let maxDepth = 8
    /// Most elements read.
    static let maxElements = 1000

    private var stack: [CAPElement] = []
    private var root: CAPElement?
    private var count = 0
    private var limit: CAPRefusal?

    /// The root element of `bytes`, or why they are not read.
    static func read(_ bytes: [UInt8]) throws(CAPRefusal) -> CAPElement {
        try screen(bytes)
        let parser = XMLParser(data: Data(bytes))
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = false
        let reader = CAPTreeReader()
        parser.delegate = reader
        let parsed = parser.parse()
        parser.delegate = nil
        if let limit = reader.limit { throw limit }
        guard parsed, let root = reader.root else {
            let reason = parser.parserError.map { ($0 as NSError).localizedDescription } ?? "no root element"
            throw .notWellFormed(line: parser.lineNumber, reason: reason)
        }
        // The parser does not always report a document that stops inside an element.
        if let open = reader.stack.last { throw .notWellFormed(line: parser.lineNumber, reason: "the document ends inside <\(open.name.prefix(40))>") }
        return root
    }

    /// Refuses bytes that are not UTF-8, that name another encoding, or that hold any
    /// markup declaration: every `<!` except a comment (`<!--`) and a CDATA section
    /// (`<![CDATA[`). Checked on the bytes before any parser sees them.
    static func screen(_ bytes: [UInt8]) throws(CAPRefusal) {
        guard !bytes.contains(0), String(validating: bytes, as: UTF8.self) != nil else { throw .notUTF8 }
        let comment = Array("<!--".utf8), cdata = Array("<![CDATA[".utf8)
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "<") && bytes[index + 1] == UInt8(ascii: "!") {
                let rest = bytes[index...]
                if !rest.starts(with: comment) && !rest.starts(with: cdata) {
                    let word = rest.prefix(12).prefix { $0 > 32 && $0 != UInt8(ascii: "[") && $0 != UInt8(ascii: ">") }
                    throw .declaration(String(decoding: word, as: UTF8.self))
                }
            }
            index += 1
        }
        // `<?xml version="1.0" encoding="…"?>`, after an optional byte order mark.
        var start = bytes[...]
        if start.starts(with: [0xEF, 0xBB, 0xBF]) { start = start.dropFirst(3) }
        guard start.starts(with: Array("<?xml".utf8)), let end = start.firstRange(of: Array("?>".utf8)) else { return }
        let declaration = String(decoding: start[start.startIndex..<end.lowerBound], as: UTF8.self)
        guard let found = declaration.range(of: "encoding") else { return }
        let after = declaration[found.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\t" }
        guard let quote = after.first, quote == "\"" || quote == "'" else { return }
        let name = after.dropFirst().prefix { $0 != quote }
        guard ["utf-8", "utf8"].contains(name.lowercased()) else { throw .encoding(String(name.prefix(40))) }
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
        attributes attributeDict: [String: String] = [:]
    ) {
        guard limit == nil else { return }
        count += 1
        if stack.count >= Self.maxDepth { return stop(parser, .tooDeep(limit: Self.maxDepth)) }
        if count > Self.maxElements { return stop(parser, .tooManyElements(limit: Self.maxElements)) }
        let element = CAPElement(name: elementName, namespace: namespaceURI ?? "")
        if let parent = stack.last { parent.children.append(element) } else if root == nil { root = element }
        stack.append(element)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard limit == nil else { return }
        _ = stack.popLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard limit == nil else { return }
        stack.last?.text += string
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard limit == nil else { return }
        stack.last?.text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, resolveExternalEntityName name: String, systemID: String?) -> Data? {
        stop(parser, .declaration("external entity \(name.prefix(40))"))
        return nil
    }

    func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
        stop(parser, .declaration("<!ENTITY \(name.prefix(40))"))
    }

    func parser(_ parser: XMLParser, foundElementDeclarationWithName elementName: String, model: String) {
        stop(parser, .declaration("<!ELEMENT \(elementName.prefix(40))"))
    }

    private func stop(_ parser: XMLParser, _ refusal: CAPRefusal) {
        if limit == nil { limit = refusal }
        parser.abortParsing()
    }
}
