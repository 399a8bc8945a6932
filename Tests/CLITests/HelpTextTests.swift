import Foundation
import Testing
import TestSupport

/// `capreg --help` and every subcommand's: argument-parser wraps help text at the terminal width
/// (COLUMNS when standard output is not a terminal), but only between the hard newlines the text holds.
/// A newline inside a paragraph shows as a ragged line at every width, so help strings break lines only
/// between paragraphs and before examples.
@Suite("help texts")
struct HelpTextTests {
    /// The subcommands `capreg --help` lists (checked against its SUBCOMMANDS section below).
    static let subcommands = ["decode", "vocabulary", "ingest", "redecode", "retract", "copy-store", "audit", "token", "synth", "query", "serve", "collect", "import-dmesg", "watch", "sync", "export", "diff", "why", "import-history"]

    /// Subcommands of subcommands, checked the same way.
    static let nested = [["token", "issue"], ["token", "list"], ["token", "revoke"], ["token", "rotate"], ["token", "enroll"], ["token", "codes"], ["token", "events"], ["sync", "placement"], ["export", "dra"], ["audit", "host"], ["audit", "kernel-upgrade"], ["audit", "predict"], ["export", "history"]]

    func help(_ command: [String], width: Int) throws -> [String] {
        let run = try CapregBinary.run(command + ["--help"], environment: ["COLUMNS": String(width)])
        #expect(run.status == 0, "\(command) --help: \(run.stderr)")
        return run.stdout.components(separatedBy: "\n")
    }

    @Test("the root help lists exactly the subcommands checked here")
    func subcommandList() throws {
        let lines = try help([], width: 200)
        let start = try #require(lines.firstIndex(of: "SUBCOMMANDS:"))
        let listed = lines[(start + 1)...].prefix { !$0.isEmpty }.compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(listed.sorted() == Self.subcommands.sorted())
    }

    /// argument-parser's own layout is not wrapped: the USAGE line, and an option's label (`--kind <a|b|…>`)
    /// when it is wider than the label column (it then stands alone on its line, its help below).
    static func isParserLayout(_ line: String) -> Bool {
        if line.hasPrefix("USAGE: ") { return true }
        let label = line.dropFirst(2)
        return line.hasPrefix("  ") && (label.hasPrefix("-") || label.hasPrefix("<")) && !label.contains("  ")
    }

    @Test("no line is wider than COLUMNS (60 and 200)", arguments: [[]] + subcommands.map { [$0] } + nested)
    func fitsTheWidth(_ command: [String]) throws {
        for width in [60, 200] {
            for line in try help(command, width: width) where !Self.isParserLayout(line) {
                #expect(line.count <= width, "capreg \(command.joined()) --help at \(width): \(line.count) columns: \(line)")
            }
        }
    }

    /// At 200 columns a paragraph's line ends only where the next word would not fit: a line followed, at
    /// the same indentation, by one whose first word would have fitted after it was cut by a hard newline.
    /// Lines of another indentation (labels, examples, wrapped option help) and list items are their own:
    /// option and subcommand rows (`-h, --help   Show…`, `serve   Serve…`) and `name: meaning` items.
    @Test("paragraphs reflow: no hard newline inside a paragraph", arguments: [[]] + subcommands.map { [$0] } + nested)
    func paragraphsReflow(_ command: [String]) throws {
        let width = 200
        let lines = try help(command, width: width)
        func indent(_ s: String) -> Int { s.prefix { $0 == " " }.count }
        for (a, b) in zip(lines, lines.dropFirst()) where !a.isEmpty && !b.isEmpty && indent(a) == indent(b) {
            let next = b.dropFirst(indent(b))
            let firstWord = next.prefix { $0 != " " }
            let row = next.contains("  ")  // two columns: a label, then its help
            if next.hasPrefix("-") || row || firstWord.hasSuffix(":") || a.hasSuffix(":") { continue }
            // The wrapper breaks at the last space within `width` characters, so a line can end where
            // line + space + word == width exactly.
            #expect(a.count + 1 + firstWord.count >= width, "capreg \(command.joined()) --help: a hard newline after \"\(a.suffix(60))\" (next: \"\(b.prefix(60))\")")
        }
    }
}
