import Foundation

/// Base64 as Standard Webhooks and tokens use it.
public enum Base64 {
    /// Standard base64 with padding, or the URL-safe alphabet without padding.
    public static func encode(_ bytes: [UInt8], urlSafe: Bool = false) -> String {
        let text = Data(bytes).base64EncodedString()
        guard urlSafe else { return text }
        return text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes standard base64; `nil` for malformed text.
    public static func decode(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text).map { Array($0) }
    }
}
