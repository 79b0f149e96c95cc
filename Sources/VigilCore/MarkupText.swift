/// The one escaping function of every document Vigil writes in markup: the console's and the
/// acknowledgement links' HTML pages (through `HTML`), the CAP documents and the feeds
/// (through `XMLWriter`). `&`, `<`, `>`, `"` and `'` become character references, so text is
/// safe in element content and in quoted attribute values; a carriage return is `&#13;` (a
/// parser would otherwise turn it into a line feed); every character XML 1.0 cannot carry (C0
/// controls other than tab and line feed, U+FFFE, U+FFFF) becomes U+FFFD, so no text, however
/// it came in, can break a document or smuggle markup into it.
public enum MarkupText {
    /// `text`, escaped.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out.unicodeScalars.append("\u{FFFD}")
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
