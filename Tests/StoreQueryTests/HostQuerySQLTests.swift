import Decoders
import Foundation
import Query
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
import TestRegistry

/// The SQL text is built only from fixed fragments: no value or name of a query ever appears in it,
/// and every placeholder has its argument.
@Suite struct HostQuerySQLTests {
    static let hostile = [#"x' OR 1=1 --"#, #"r1"); DROP TABLE hosts; --"#, "'", "\"", "%", "_", "\\", "?", "a\u{0}b"]

    func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    func compiled(_ text: String) throws -> [CompiledHostQuery] {
        let expr = try QueryParser.parse(text)
        return [HostQuerySQL.select(expr, mode: .now, after: "host'--", limit: 10),
                HostQuerySQL.select(expr, mode: .asOf(1_750_000_000_000), after: nil, limit: 10)]
    }

    @Test(arguments: hostile) func valuesAreBoundNeverSpliced(_ value: String) throws {
        let q = quote(value)
        let texts = ["label.rack = \(q)", "label.rack in (\(q), \(q))", "label.rack != \(q)", "iommu.vendor = \(q)",
                     "vtd.sl_levels != \(q)", "first_level.format in (\(q), \"y\")", "kernel = " + quote("6.1.0-" + value)]
        for text in texts {
            for c in try compiled(text) {
                // "?" and "_" occur in any SQL (placeholders, column names); the rest must not.
                if value != "?" && value != "_" { #expect(!c.sql.contains(value), "\(text) → \(c.sql)") }
                #expect(!c.sql.contains("'") && !c.sql.contains("\""), "the SQL holds no literal at all: \(c.sql)")
                #expect(c.sql.filter { $0 == "?" }.count == c.arguments.count, "\(text) → \(c.sql)")
                // A list is bound as one JSON array (json_each); a single value as itself.
                #expect(c.arguments.contains { if case .text(let s) = $0 { s.contains(value) || HostQuerySQLTests.jsonArray(s).contains(value) } else { false } },
                        "\(text): value not bound")
            }
        }
    }

    /// The strings of a JSON array argument (none when it is not one).
    static func jsonArray(_ s: String) -> [String] {
        guard s.hasPrefix("["), let values = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [Any] else { return [] }
        return values.compactMap { $0 as? String }
    }

    @Test func namesAreBoundToo() throws {
        let keyColumns = Set(HostQuerySQL.keyColumns.keys)
        for entry in Vocabulary.all {
            let text: String
            switch entry.type {
            case .bool: text = "\(entry.name) and has(\(entry.name))"
            case .int: text = "\(entry.name) >= 3 or not has(\(entry.name))"
            case .text: text = "\(entry.name) = \"v\""
            }
            for c in try compiled(text) {
                // Key facts read their hosts column now (a fixed identifier from HostQuerySQL.keyColumns).
                if keyColumns.contains(entry.name) && !c.sql.contains("facts f") { continue }
                #expect(!c.sql.contains(entry.name), "\(entry.name) spliced: \(c.sql)")
                #expect(c.arguments.contains(.text(entry.name)))
            }
        }
        for c in try compiled("covers(vfio.iova_windows, 0xfee00000) or not covers(vfio.iova_windows, 12345)") {
            #expect(!c.sql.contains("vfio.iova_windows") && !c.sql.contains("4276092928") && !c.sql.contains("12345"), "\(c.sql)")
            #expect(c.arguments.contains(.text("vfio.iova_windows")) && c.arguments.contains(.int(0xfee0_0000)) && c.arguments.contains(.int(12345)))
            #expect(c.sql.filter { $0 == "?" }.count == c.arguments.count)
        }
        let label = try compiled(#"label.rack = "r1""#)
        #expect(label.allSatisfy { !$0.sql.contains("rack") && $0.arguments.contains(.text("rack")) })
    }

    /// Executed, the hostile values match only hosts that carry them exactly.
    @Test func hostileValuesMatchLiterally() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("h.sqlite"))
        // A NUL can be asked about (valuesAreBoundNeverSpliced) but never stored: reports carrying one are
        // refused at ingest (OneReportDecoderTests.nulDoesNotAlias), so only the others are stored here.
        let storable = Self.hostile.filter { !$0.unicodeScalars.contains("\u{0}") }
        let reports = storable.enumerated().map { i, v in
            Fleet.report("r\(i)", host: "h\(i)", at: Double(i), kernel: "6.1.0", labels: ["rack": v])
        } + [Fleet.report("plain", host: "plain", at: 0, kernel: "6.1.0", labels: ["rack": "r1"])]
        _ = try store.ingest(reports)
        for (i, value) in storable.enumerated() {
            let expr = try QueryParser.parse("label.rack = \(quote(value))")
            #expect(try store.allPages(expr, limit: 100).map(\.hostname) == ["h\(i)"], "\(value)")
        }
        #expect(try store.count() == reports.count)
    }
}

extension Registry {
    func count() throws -> Int { try allPages(nil, limit: 1000).count }
}
