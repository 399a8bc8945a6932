import Foundation
import JSONText
import Testing
import TestRegistry
import TestSupport
@testable import Store

/// A host's labels kept in its row as a print (`hosts.label_print`, migrations/0014): read back as they were
/// written, and the migration's SQL computes, for the hosts before it, the print ingest computes.
@Suite struct LabelPrintTests {
    static let labels: [String: String] = ["rack": "r1", "zone:a": "12:34", "ünï": "cødé ✓ 𝔘", "empty": "", "9": "9:9:9",
                                           "Rack": "upper first", "z": String(repeating: "é", count: 300)]

    @Test func entriesAreTheLabelsInKeyByteOrder() {
        let entries = LabelPrint.entries(LabelPrint.of(Self.labels))
        #expect(entries.map(\.key) == Self.labels.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.value) }) == Self.labels)
        #expect(LabelPrint.entries("").isEmpty)
        // Not a print `of` writes: the well-formed head is kept, the rest left out.
        #expect(LabelPrint.entries("4:rack2:r1x:oops").map(\.key) == ["rack"])
        #expect(LabelPrint.entries("9:short").isEmpty)
        #expect(LabelPrint.entries("99999999999999999999:x").isEmpty)
        #expect(LabelPrint.entries(":1:x").isEmpty)
    }

    /// A print whose keys are ASCII is written as JSON straight from its bytes, as the list would be; any
    /// other (a key past ASCII, keys out of order, a malformed print) is refused with nothing written, and a
    /// host then writes its labels from the list.
    @Test func jsonFromThePrintIsTheListsJSON() {
        func listJSON(_ labels: [(key: String, value: String)]) -> String {
            var out = JSONWriter()
            out.objectStart()
            for (key, value) in labels { out.key(key); out.string(value) }
            out.objectEnd()
            return String(decoding: out.bytes, as: UTF8.self)
        }
        func hostJSON(_ print: String) -> String {
            let host = QueriedHost(hostname: "h", kernelRelease: nil, reportedAt: Date(), labels: .print(print), facts: .list([]))
            var out = JSONWriter()
            host.writeLabels(into: &out)
            return String(decoding: out.bytes, as: UTF8.self)
        }
        let ascii = Self.labels.filter { $0.key.utf8.allSatisfy { $0 < 0x80 } }
        let print = LabelPrint.of(ascii)
        var direct = JSONWriter()
        #expect(LabelPrint.writeJSON(print, into: &direct))
        #expect(String(decoding: direct.bytes, as: UTF8.self) == listJSON(QueriedHost.sorted(LabelPrint.entries(print))))
        #expect(hostJSON(print) == listJSON(QueriedHost.sorted(LabelPrint.entries(print))))
        #expect(hostJSON("") == "{}")
        for refused in [LabelPrint.of(Self.labels), "4:zone1:a4:rack1:b", "4:rack2:r1x:oops", "9:short"] {
            var out = JSONWriter()
            #expect(!LabelPrint.writeJSON(refused, into: &out), "\(refused)")
            #expect(out.bytes.isEmpty)
            #expect(hostJSON(refused) == listJSON(QueriedHost.sorted(LabelPrint.entries(refused))), "\(refused)")
        }
        // Out of order, the host still lists its labels by key.
        #expect(hostJSON("4:zone1:a4:rack1:b") == #"{"rack":"b","zone":"a"}"#)
    }

    @Test func theMigrationComputesWhatIngestWrites() throws {
        let dir = try TempDir()
        let path = dir.path("labels.sqlite")
        let sets: [String: [String: String]] = ["a": Self.labels, "b": ["rack": "r2"], "none": [:]]
        do {
            let old = try TestRegistry.open(path, migrationsBefore: "0014")
            try old.database.write { db in
                for (hostname, labels) in sets {
                    let id = try db.insert("INSERT INTO hosts (hostname, first_seen, last_seen, last_received) VALUES (?, 1, 2, 3)", [hostname])
                    for (key, value) in labels {
                        try db.execute("INSERT INTO host_labels (host_id, key, value) VALUES (?, ?, ?)", [id, key, value])
                    }
                }
            }
        }
        let upgraded = try TestRegistry.open(path)
        #expect(try upgraded.count("SELECT count(*) FROM host_labels") == Self.labels.count + 1)
        #expect(try upgraded.database.read { db in try db.values("SELECT name FROM schema_migrations ORDER BY name", as: String.self) }.contains("0014_hosts_label_print"))
        for (hostname, labels) in sets {
            let print = try upgraded.database.read { db in
                try db.value("SELECT label_print FROM hosts WHERE hostname = ?", [hostname], as: String.self)
            }
            #expect(print == LabelPrint.of(labels), "\(hostname)")
        }
    }
}
