import VigilHTTP

/// Labelled form controls with their problems beside them (issue 20's accessibility rules):
/// every control has a `<label for>`, a hint and a problem are tied to it by
/// `aria-describedby`, and a refused control is `aria-invalid`. A control's `id` is its
/// name, the alert's JSON path (`defender.name`), and its problem is `error-<name>`.
struct FormFields {
    /// Problems by field name, already worded for the reader.
    var errors: [String: String]
    /// What was typed, shown again when a form comes back refused.
    var values: FormBody
    /// Put before every `id` (not the names), for a page with several forms of the same
    /// fields (one per subscriber): `sub_1.language`, `error-sub_1.language`.
    var idPrefix = ""

    /// Controls showing `errors` and the values in `values`.
    init(errors: [String: String] = [:], values: FormBody = FormBody(values: [:])) {
        self.errors = errors
        self.values = values
    }

    /// The problem of `name`, if any, as `<p id="error-name">`.
    func error(_ name: String) -> HTML {
        guard let message = errors[name] else { return .empty }
        return "<p class=\"error\" id=\"error-\(idPrefix + name)\">\(message)</p>"
    }

    /// The attributes tying a control to its hint and problem.
    private func described(_ name: String, hint: String?) -> HTML {
        var ids: [String] = []
        if hint != nil { ids.append("hint-" + idPrefix + name) }
        if errors[name] != nil { ids.append("error-" + idPrefix + name) }
        var html = HTML.empty
        if !ids.isEmpty { html.append(" aria-describedby=\"\(ids.joined(separator: " "))\"") }
        if errors[name] != nil { html.append(" aria-invalid=\"true\"") }
        return html
    }

    private func hintLine(_ name: String, _ hint: String?) -> HTML {
        guard let hint else { return .empty }
        return "<p class=\"hint\" id=\"hint-\(idPrefix + name)\">\(hint)</p>"
    }

    /// A one-line input; `value` when given, else what was typed (never for passwords).
    func input(
        _ name: String, label: String, type: String = "text", value: String? = nil, hint: String? = nil, autocomplete: String? = nil,
        required: Bool = false
    ) -> HTML {
        let shown = type == "password" ? "" : (value ?? values[name] ?? "")
        let auto: HTML = autocomplete.map { "autocomplete=\"\($0)\"" } ?? ""
        let req: HTML = required ? " required" : ""
        return """
            <label for="\(idPrefix + name)">\(label)</label>
            \(hintLine(name, hint))\(error(name))<input type="\(type)" id="\(idPrefix + name)" name="\(name)" value="\(shown)" \(auto)\(req)\(described(name, hint: hint))>

            """
    }

    /// A multi-line input.
    func textarea(_ name: String, label: String, value: String? = nil, hint: String? = nil, required: Bool = false, rows: Int = 4) -> HTML {
        let shown = value ?? values[name] ?? ""
        let req: HTML = required ? " required" : ""
        return """
            <label for="\(idPrefix + name)">\(label)</label>
            \(hintLine(name, hint))\(error(name))<textarea id="\(idPrefix + name)" name="\(name)" rows="\(rows)"\(req)\(described(name, hint: hint))>\(shown)</textarea>

            """
    }

    /// A select list of `options` (value, label); the selected one is `selected`, else what was
    /// sent, else `blank` (an empty first option) when given.
    func select(_ name: String, label: String, options: [(value: String, label: String)], selected: String? = nil, blank: String? = nil, hint: String? = nil) -> HTML {
        let current = selected ?? values[name]
        var items: [HTML] = []
        if let blank { items.append("<option value=\"\">\(blank)</option>") }
        for option in options {
            let mark: HTML = option.value == current ? " selected" : ""
            items.append("<option value=\"\(option.value)\"\(mark)>\(option.label)</option>")
        }
        return """
            <label for="\(idPrefix + name)">\(label)</label>
            \(hintLine(name, hint))\(error(name))<select id="\(idPrefix + name)" name="\(name)"\(described(name, hint: hint))>\(items)</select>

            """
    }

    /// A group of checkboxes named `name`, one per option, in a fieldset with `legend`.
    func checkboxes(_ name: String, legend: String, options: [(value: String, label: String)], checked: Set<String>? = nil) -> HTML {
        let ticked = checked ?? Set(values.all(name))
        var items: [HTML] = []
        for (index, option) in options.enumerated() {
            let id = "\(idPrefix + name)-\(index)"
            let mark: HTML = ticked.contains(option.value) ? " checked" : ""
            items.append("<span class=\"check\"><input type=\"checkbox\" id=\"\(id)\" name=\"\(name)\" value=\"\(option.value)\"\(mark)><label for=\"\(id)\" class=\"inline\">\(option.label)</label></span> ")
        }
        return "<fieldset\(described(name, hint: nil))><legend>\(legend)</legend>\(error(name))\(items)</fieldset>\n"
    }

    /// One checkbox `name` with value `true`.
    func checkbox(_ name: String, label: String, checked: Bool? = nil) -> HTML {
        let mark: HTML = (checked ?? values.isChecked(name)) ? " checked" : ""
        return "<p class=\"check\"><input type=\"checkbox\" id=\"\(idPrefix + name)\" name=\"\(name)\" value=\"true\"\(mark)\(described(name, hint: nil))><label for=\"\(idPrefix + name)\" class=\"inline\">\(label)</label></p>\(error(name))\n"
    }
}
