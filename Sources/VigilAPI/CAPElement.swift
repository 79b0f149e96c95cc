import Foundation

/// One element of a CAP document as `CAPTreeReader` read it: its local name, namespace, text
/// and children. Lives only while one request is read, on one thread.
final class CAPElement {
    /// The local name (`info`, `severity`).
    let name: String
    /// The namespace URI, empty for none.
    let namespace: String
    /// The character data directly inside it, CDATA included.
    var text = ""
    /// The child elements, in document order.
    var children: [CAPElement] = []

    /// An element named `name` in `namespace`, without text or children yet.
    init(name: String, namespace: String) {
        self.name = name
        self.namespace = namespace
    }

    /// The text without leading and trailing white space.
    var value: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// The children named `name`, in order.
    func children(named name: String) -> [CAPElement] { children.filter { $0.name == name } }
}
