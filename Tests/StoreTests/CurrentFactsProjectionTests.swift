import Decoders
import Foundation
import GRDB
import JSONText
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
@testable import Synthetic
import TestRegistry

/// host_facts_json (migrations 0003, 0005) must always say what current_facts says: ingest writes both in
/// one transaction, the migration backfills it, and the query page sends it as is.
@Suite struct CurrentFactsProjectionTests {
    func fleet(_ dir: TempDir, reversed: Bool = false) throws -> Registry {
        let store = try TestRegistry.open(dir.path("fleet.sqlite"))
        var reports: [Report] = []
        SyntheticFleet(hosts: 40, days: 12, seed: 7).forEachReport { reports.append($0) }
        // Out of order too: older reports arriving after newer ones must not touch the current state.
        if reversed { reports.reverse() }
        _ = try store.ingest(reports)
        return store
    }

    /// (cur_facts, the current_facts rows as Facts) per host.
    func both(_ store: Registry) throws -> [(String, String, [Fact])] {
        try store.database.read { db in
            try db.rows("""
                SELECT h.id, h.hostname, coalesce(j.facts, '{}') FROM hosts h LEFT JOIN host_facts_json j ON j.host_id = h.id ORDER BY h.id
                """).map { host in
                let id: Int64 = host[0]
                let rows = try db.rows("SELECT name, type, value_int, value_text FROM current_facts WHERE host_id = ? ORDER BY name", [id])
                return (host[1], host[2], rows.map(Registry.fact))
            }
        }
    }

    @Test(arguments: [false, true])
    func ingestKeepsTheEncodedFactsEqualToTheRows(reversed: Bool) throws {
        let dir = try TempDir()
        let store = try fleet(dir, reversed: reversed)
        let hosts = try both(store)
        #expect(hosts.count == 40)
        #expect(hosts.contains { $0.2.count > 50 }, "hosts with many facts")
        for (hostname, encoded, rows) in hosts {
            #expect(FactsObjectReader.facts(encoded) == rows, "\(hostname)")
            #expect(encoded == DecodedJSON.currentFacts(rows.map { (key: $0.name, value: $0.value) }), "\(hostname)")
        }
    }

    /// Migration 0003's SQL backfill (evaluated per host on today's schema) writes the same bytes as
    /// ingest's encoder (synthetic text is ASCII).
    // Runs SQLite's migration 0003 itself.
    @Test(.enabled(if: TestBackend.current == .sqlite)) func migrationBackfillEqualsTheEncoder() throws {
        let dir = try TempDir()
        let store = try fleet(dir)
        let stored = try both(store).map(\.1)
        let sql = try #require(Migration.sqlite.first { $0.name == "0003_host_facts_json" }?.sql)
        let assignment = try #require(sql.firstRange(of: "UPDATE hosts SET cur_facts = "))
        let expression = sql[assignment.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines).dropLast()  // the ';'
        let backfilled = try store.database.read { db in try db.values("SELECT \(expression) FROM hosts ORDER BY id", as: String.self) }
        #expect(backfilled == stored)
        #expect(stored.contains { $0 != "{}" })
    }

    /// Migration 0005 moves each host's object out of the hosts row unchanged.
    @Test func leanHostsMigrationMovesEveryObject() throws {
        let dir = try TempDir()
        let path = dir.path("old.sqlite")
        let objects = ["{}", #"{"a":1,"b":"x"}"#, #"{"pasid_bits":20,"vendor":"intel"}"#]
        do {
            let old = try Registry.sqlite(path: path, migrations: Array(Migration.sqlite.prefix { $0.name != "0005_lean_hosts" }))
            try old.database.write { db in
                for (i, object) in objects.enumerated() {
                    try db.execute("INSERT INTO hosts (hostname, first_seen, last_seen, last_received, cur_facts) VALUES (?, 1, 2, 3, ?)",
                                   ["h\(i)", object])
                }
            }
        }
        let upgraded = try Registry.sqlite(path: path)
        #expect(try both(upgraded).map(\.1) == objects)
        #expect(try upgraded.database.read { db in try db.rows("PRAGMA table_info(hosts)").contains { $0["name"] as String == "cur_facts" } } == false)
    }

    /// The page answers whole hosts from cur_facts and field subsets from the rows: the same facts.
    @Test func wholeAndFieldPagesAgree() throws {
        let dir = try TempDir()
        let store = try fleet(dir)
        let whole = try store.queryHosts(nil, limit: 1000)
        let names = Set(whole.hosts.flatMap { $0.facts.map(\.name) })
        let fielded = try store.queryHosts(nil, fields: names, limit: 1000)
        #expect(whole.hosts.count == 40)
        #expect(whole.hosts == fielded.hosts)
        #expect(whole.hosts.map(\.factsJSON) == fielded.hosts.map(\.factsJSON))
        let some = try store.queryHosts(nil, fields: ["pasid_bits", "vendor"], limit: 1000)
        for (w, s) in zip(whole.hosts, some.hosts) {
            #expect(s.facts == w.facts.filter { ["pasid_bits", "vendor"].contains($0.name) })
        }
    }

    @Test func readerRoundTripsWhatTheEncoderWrites() {
        let texts = ["", "intel-vtd", "a\"b\\c", "l\nt\tr\r\u{08}\u{0C}", "\u{01}\u{1F}\u{7F}", "x\u{2028}y\u{2029}", "é ü 日本 €", "🦀 𝄞", "/slash"]
        let facts: [(key: String, value: FactValue)] = texts.enumerated().map { ("t\($0.offset)", .text($0.element)) }
            + [("b0", .bool(false)), ("b1", .bool(true)), ("i0", .int(0)), ("i1", .int(-7)), ("i2", .int(.max)), ("i3", .int(.min))]
        let sorted = facts.sorted { $0.key < $1.key }
        let encoded = DecodedJSON.currentFacts(sorted)
        #expect(FactsObjectReader.facts(encoded) == sorted.map { Fact($0.key, $0.value) })
        #expect(FactsObjectReader.facts("{}") == [])
        #expect(FactsObjectReader.facts(" { \"a\" : true , \"b\":\"\\u00e9\\ud83e\\udd80\" } ") == [Fact("a", .bool(true)), Fact("b", .text("é🦀"))])
        // Every truncation reads as a prefix of the facts, never a crash or a made-up fact.
        let bytes = Array(encoded.utf8)
        for n in 0..<bytes.count {
            let got = FactsObjectReader.facts(String(decoding: bytes[..<n], as: UTF8.self))
            #expect(got.count < sorted.count)
            #expect(got == Array(sorted.prefix(got.count)).map { Fact($0.key, $0.value) }, "prefix \(n)")
        }
    }
}
