/// The one CSV writer: the dashboard's download (GET /ui/query?format=csv) and `capreg query --csv` both
/// write through it, so the two files quote and guard alike. Its own target, pure and without
/// dependencies, because Dashboard may not import the CLI nor the CLI's output code, and JSONText is
/// the JSON writer (design.md: one room per module).
///
/// RFC 4180: CRLF after every record, the header included; a field holding `,` `"` CR or LF is quoted,
/// quotes doubled; an absent value is an empty field.
///
/// Formula guard: hostnames, kernels and labels come from agents, and a spreadsheet runs a cell whose
/// text starts with `=`, `+`, `-`, `@`, tab or CR as a formula (CSV injection). Every such field, header
/// included, is written as `'` + text inside quotes: the spreadsheet shows it as text. The one exception
/// is a field that is wholly a decimal integer (`-1`): a spreadsheet reads it as the number it is, and a
/// number runs nothing.
public enum CSVWriter {
    /// One record: the fields in order (nil: absent), then CRLF.
    public static func record(_ fields: [String?]) -> String {
        fields.map { field($0 ?? "") }.joined(separator: ",") + "\r\n"
    }

    /// Records, each ending in CRLF.
    public static func document(_ records: [[String?]]) -> String {
        records.map(record).joined()
    }

    /// One field, guarded and quoted as the rules above say.
    public static func field(_ text: String) -> String {
        if isFormula(text) { return quoted("'" + text) }
        // Unicode scalars, not Characters: "\r\n" is one Character that equals neither "\r" nor "\n".
        let needsQuotes = text.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }
        return needsQuotes ? quoted(text) : text
    }

    /// Would a spreadsheet take this text for a formula? Starts with `= + - @` TAB or CR and is not an
    /// integer like `-1`.
    public static func isFormula(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return false }
        return !isInteger(text)
    }

    static func isInteger(_ text: String) -> Bool {
        let digits = text.utf8.first == UInt8(ascii: "-") ? text.utf8.dropFirst() : text.utf8[...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            if c == "\"" { out.unicodeScalars.append(c) }
            out.unicodeScalars.append(c)
        }
        return out + "\""
    }
}
