import Foundation

/// The one JSON configuration Vigil writes and reads with, so the log, the API and the
/// webhooks all agree byte for byte.
public enum VigilJSON {
    /// An encoder with stable key order and unescaped slashes.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A decoder for Vigil's own documents.
    public static func decoder() -> JSONDecoder { JSONDecoder() }

    /// Encodes `value` as UTF-8 JSON.
    public static func encode(_ value: some Encodable) throws -> Data { try encoder().encode(value) }

    /// Decodes a `T` from UTF-8 JSON.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder().decode(type, from: data)
    }
}
