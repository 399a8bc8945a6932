import Decoders
import Foundation
import GRDB
import Report
import Testing
import TestSupport
import TestRegistry
@testable import Store
import StoreSQLite
@testable import Synthetic

/// Reports arriving in any order (ties, repeats, older ones last) must give the history a simple model
/// gives: at time t a host has the content of its latest report collected at or before t (for equal
/// times, the one received last). Rows stay non-overlapping and maximal.
@Suite struct IngestOrderModelTests {
    static let variants: [(pgsizes: UInt64, dmaAvail: Bool, top: UInt64)] = [
        (0x4020_1000, true, 0x7f_ffff_ffff), (0x20_1000, true, 0x7f_ffff_ffff),
        (0x4020_1000, false, 0xffff_ffff_ffff), (0x1000, false, 0x7f_ffff_ffff),
    ]

    @Test(arguments: [1, 2, 3, 4, 5, 6]) func anyArrivalOrderGivesTheModelHistory(seed: UInt64) throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        var g = SplitMix64(seed: seed)
        for trial in 0..<8 {
            let host = "h\(trial)"
            let count = 2 + Int(g.next() % 7)
            var reports: [(report: Report, hours: Double)] = (0..<count).map { i in
                let hours = Double(g.next() % 8)  // few distinct times: ties happen
                let v = Self.variants[Int(g.next() % UInt64(Self.variants.count))]
                return (Fixture.report("\(host)-\(i)", host: host, at: hours, pgsizes: v.pgsizes, top: v.top, dmaAvail: v.dmaAvail), hours)
            }
            reports.shuffle(using: &g)
            if g.next() % 2 == 0 { reports.append(reports[0]) }  // a repeat: must change nothing
            var received: [(report: Report, hours: Double)] = []
            for r in reports {
                _ = try store.ingest([r.report])
                if !received.contains(where: { $0.report.reportId == r.report.reportId }) { received.append(r) }
            }
            for step in -2...18 {
                let t = Double(step) / 2
                let inForce = received.enumerated().filter { $0.element.hours <= t }
                    .max { ($0.element.hours, $0.offset) < ($1.element.hours, $1.offset) }?.element
                let snapshot = try store.factsAsOf(Fixture.time(t), hostname: host).first
                #expect(snapshot?.facts == (try inForce.map { try Fixture.expectedFacts($0.report) }),
                        "seed \(seed) trial \(trial) at \(t)h, arrival \(received.map { "\($0.report.reportId)@\($0.hours)" })")
            }
            let newest = received.enumerated().max { ($0.element.hours, $0.offset) < ($1.element.hours, $1.offset) }!.element
            #expect(try store.currentState(hostname: host)?.facts == Fixture.expectedFacts(newest.report))
        }
        try checkRowsAreMaximal(store, table: "facts", key: "name", value: "type || ':' || coalesce(CAST(value_int AS TEXT), '') || ':' || coalesce(value_text, '')")
        try checkRowsAreMaximal(store, table: "capability_versions", key: "unit || '/' || capability",
                                value: "capability_version || ':' || kernel_release || ':' || \(store.dialect == .sqlite ? "hex(raw)" : "encode(raw, 'hex')")")
        #expect(try store.count("""
            SELECT count(*) FROM facts f WHERE f.valid_to = ? AND NOT EXISTS (SELECT 1 FROM current_facts c
            WHERE c.host_id = f.host_id AND c.name = f.name AND c.type = f.type AND c.value_int IS NOT DISTINCT FROM f.value_int AND c.value_text IS NOT DISTINCT FROM f.value_text)
            """, [Int64.max]) == 0, "every open row is in the current projection")
        #expect(try store.count("SELECT count(*) FROM current_facts") == store.count("SELECT count(*) FROM facts WHERE valid_to = ?", [Int64.max]))
        #expect(try store.foreignKeyViolations() == [], "every reference points at a row")
    }

    func checkRowsAreMaximal(_ store: Registry, table: String, key: String, value: String) throws {
        let rows = try store.database.read { db in
            try db.rows("SELECT host_id, \(key), \(value), valid_from, valid_to FROM \(table) ORDER BY host_id, \(key), valid_from")
        }
        for (a, b) in zip(rows, rows.dropFirst()) where a[0] as Int64 == b[0] as Int64 && a[1] as String == b[1] as String {
            let aTo: Int64 = a[4], bFrom: Int64 = b[3]
            #expect(aTo <= bFrom, "\(table): overlapping rows for \(a[1] as String)")
            #expect(!(aTo == bFrom && a[2] as String == b[2] as String), "\(table): adjacent equal rows for \(a[1] as String) not merged")
        }
        #expect(rows.allSatisfy { ($0[3] as Int64) < ($0[4] as Int64) }, "\(table): empty interval")
    }
}
