extension VigilConfiguration {
    /// The settings that have a flag, as a usage line shows them: `[--listen HOST:PORT]`,
    /// `[--allow-private-webhooks]`.
    public static var flagUsages: [String] {
        settings.compactMap { setting in
            switch setting.flag {
            case .value(let placeholder)?: "[--\(setting.flagName) \(placeholder)]"
            case .switch?: "[--\(setting.flagName)]"
            case nil: nil
            }
        }
    }

    /// Every setting as `vigil serve --help` lists it: the key, its variable, its flag and its
    /// default on one line, then what it means, wrapped to `width` columns.
    public static func settingsHelp(width: Int = 100) -> String {
        settings.map { setting in
            var names = [setting.environmentVariable]
            switch setting.flag {
            case .value(let placeholder)?: names.append("--\(setting.flagName) \(placeholder)")
            case .switch?: names.append("--\(setting.flagName)")
            case nil: break
            }
            let heading = "  \(setting.key) (\(names.joined(separator: ", ")); default \(setting.defaultText ?? "none"))"
            let meaning = setting.meaning.replacingOccurrences(of: "`", with: "")
            return ([heading] + wrap(meaning, width: width - 6).map { "      " + $0 }).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Every setting as a row of the README's Markdown table (`| key | variable | default |
    /// meaning |`), with its header.
    public static var settingsTable: String {
        let rows = settings.map { setting in
            let value = setting.defaultText.map { "`\($0)`" } ?? "none"
            return "| `\(setting.key)` | `\(setting.environmentVariable)` | \(value) | \(setting.meaning.replacingOccurrences(of: "|", with: "\\|")) |"
        }
        return (["| key | variable | default | meaning |", "|---|---|---|---|"] + rows).joined(separator: "\n")
    }

    /// `text` split into lines of at most `width` characters at spaces (a longer word keeps its own line).
    private static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
