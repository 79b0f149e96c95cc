import Foundation

/// The structural rules of issue 20 checked on a page's markup: a `lang`, exactly one `h1`,
/// the landmarks and the skip link, a `<label for>` for every visible control, no inline style
/// or script, and no address outside the service. Returns what is wrong, empty when nothing.
enum PageStructure {
    static func problems(_ page: String) -> [String] {
        var problems: [String] = []
        if page.range(of: "<html lang=\"[a-z]{2}\"", options: .regularExpression) == nil { problems.append("no lang on <html>") }
        let h1 = page.components(separatedBy: "<h1").count - 1
        if h1 != 1 { problems.append("\(h1) h1 elements") }
        for landmark in ["<header", "<main id=\"main\"", "<footer", "href=\"#main\""] where !page.contains(landmark) {
            problems.append("no \(landmark)")
        }
        if page.contains(" style=") || page.contains("<style") || page.contains("<script") || page.range(of: " on[a-z]+=", options: .regularExpression) != nil {
            problems.append("inline style or script")
        }
        if page.range(of: "(src|href|action)=\"(https?:)?//", options: .regularExpression) != nil { problems.append("an address outside the service") }
        let labelled = Set(matches(of: "<label for=\"([^\"]+)\"", in: page))
        for tag in ["input", "select", "textarea"] {
            for element in matches(of: "<\(tag)\\b([^>]*)>", in: page) {
                if element.contains("type=\"hidden\"") { continue }
                guard let id = matches(of: "id=\"([^\"]+)\"", in: element).first else {
                    problems.append("a <\(tag)> without an id")
                    continue
                }
                if !labelled.contains(id) { problems.append("<\(tag) id=\"\(id)\"> has no <label for>") }
            }
        }
        return problems
    }

    /// The first capture group of every match of `pattern` in `text`.
    static func matches(of pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        let range = NSRange(text.startIndex..., in: text)
        return regex.matches(in: text, range: range).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
