import Foundation
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
