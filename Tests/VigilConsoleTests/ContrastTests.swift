import Foundation
import Testing
@testable import VigilConsole

/// The stylesheet's colours against WCAG 2.1 AA (issue 20): 4.5:1 for text, 3:1 for the focus
/// outline and control borders. The pairs are read from the stylesheet itself, so a colour
/// changed there is checked here.
@Suite struct ContrastTests {
    /// WCAG 2.1's relative luminance of `#rrggbb`.
    static func luminance(_ hex: String) -> Double {
        let value = Int(hex.dropFirst(), radix: 16) ?? 0
        let channels = [(value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF].map { Double($0) / 255 }
        let linear = channels.map { $0 <= 0.03928 ? $0 / 12.92 : pow(($0 + 0.055) / 1.055, 2.4) }
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    }

    static func ratio(_ a: String, _ b: String) -> Double {
        let (x, y) = (luminance(a), luminance(b))
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    /// The `color` and `background` of the rule for `selector` in the stylesheet.
    static func colours(of selector: String) -> (text: String?, background: String?) {
        guard let start = ConsoleStylesheet.css.range(of: "\n" + selector + "{") else { return (nil, nil) }
        let body = ConsoleStylesheet.css[start.upperBound...].prefix { $0 != "}" }
        func value(_ property: String) -> String? {
            for declaration in body.split(separator: ";") {
                let parts = declaration.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0] == property, let hex = parts[1].split(separator: " ").first(where: { $0.hasPrefix("#") }) {
                    return String(hex)
                }
            }
            return nil
        }
        return (value("color"), value("background"))
    }

    @Test(arguments: [
        ("html", "#ffffff"), ("a", "#ffffff"), ("a:visited", "#ffffff"), (".who", "#ffffff"), ("footer", "#ffffff"), (".hint", "#ffffff"),
        (".error", nil), (".notice", nil), ("button", nil), ("button.secondary", nil), (".withheld", "#ffffff"), (".sev-critical", "#ffffff"),
        (".sev-high", "#ffffff"), ("th", nil),
    ] as [(String, String?)])
    func textMeetsAA(selector: String, on page: String?) throws {
        let (text, background) = Self.colours(of: selector)
        let foreground = try #require(text ?? (selector == "th" ? "#1a1a1a" : nil), "no colour for \(selector)")
        let behind = try #require(background ?? page, "no background for \(selector)")
        #expect(Self.ratio(foreground, behind) >= 4.5, "\(selector): \(foreground) on \(behind) is \(Self.ratio(foreground, behind)):1")
    }

    @Test func focusAndBordersMeetTheNonTextRatio() {
        for colour in ["#c25e00", "#595959", "#a30000", "#767676"] {
            #expect(Self.ratio(colour, "#ffffff") >= 3, "\(colour) on white is \(Self.ratio(colour, "#ffffff")):1")
        }
        #expect(ConsoleStylesheet.css.contains(":focus-visible,:focus{outline:3px solid #c25e00"))
    }
}
