/// The CLI's one table layout: columns padded to their widest cell, two spaces apart, the last column
/// unpadded; control characters (hostnames and labels come from agents) shown as `?`.
enum TextTable {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        let cells = rows.map { $0.map(visible) }
        var widths = Array(repeating: 0, count: first.count)
        for row in cells { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return cells.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func visible(_ s: String) -> String {
        String(s.map { c in c.isNewline || c.unicodeScalars.contains { $0.properties.generalCategory == .control } ? "?" : c })
    }
}
