import Decoders
import Foundation
import Report
@testable import Store
import Testing
import TestSupport
import TestRegistry

/// kernel_moves and kernel_move_changes (migrations/0019) are derived from history: whatever order reports
/// arrive in, and after a retraction or a redecode, they hold what a rebuild from the stored history holds,
/// and what a registry that received the same reports in order holds.
@Suite struct KernelMoveSummaryTests {
    typealias R = AuditReportTests

    /// h: two moves up, one down with other registers (hardware), heartbeats between; g: one move.
    static let reports: [Report] = [
        R.report("h0", "h", at: 0, "6.6.0-1-generic", pgsizes: R.with2M, regs: R.regsA),
        R.report("h1", "h", at: 1, "6.6.0-1-generic", pgsizes: R.with2M, regs: R.regsA),
        R.report("h2", "h", at: 2, "6.12.0-1-generic", pgsizes: R.without2M, regs: R.regsA),
        R.report("h3", "h", at: 3, "6.12.0-1-generic", pgsizes: R.without2M, regs: R.regsA),
        R.report("h4", "h", at: 4, "6.6.0-1-generic", pgsizes: R.with2M, regs: R.regsB),
        R.report("h5", "h", at: 5, "6.12.0-2-generic", pgsizes: R.with2M, regs: R.regsB),
        R.report("g0", "g", at: 0, "6.6.0-1-generic", pgsizes: R.with2M, regs: nil),
        R.report("g1", "g", at: 1, "6.8.0-1-generic", pgsizes: R.without2M, regs: nil),
    ]

    /// Every move with its changes, by hostname and time (report ids differ between registries).
    static func summary(_ store: Registry) throws -> [String] {
        try store.database.read { db in
            try db.rows("""
                SELECT h.hostname, m.at, m.from_release, m.to_release, m.cause, c.name, c.before_type, c.before_int, c.before_text,
                    c.after_type, c.after_int, c.after_text
                FROM kernel_moves m JOIN hosts h ON h.id = m.host_id LEFT JOIN kernel_move_changes c ON c.report = m.report
                ORDER BY h.hostname, m.at, c.name
                """).map { r in
                let before = [r[6] as String?, (r[7] as Int64?).map(String.init), r[8] as String?].map { $0 ?? "-" }
                let after = [r[9] as String?, (r[10] as Int64?).map(String.init), r[11] as String?].map { $0 ?? "-" }
                return "\(r[0] as String) \(r[1] as Int64) \(r[2] as String)>\(r[3] as String) \(r[4] as String) \(r[5] as String? ?? "-") "
                    + before.joined(separator: "/") + " → " + after.joined(separator: "/")
            }
        }
    }

    /// What a rebuild from the stored history writes (the registry is rebuilt in place).
    static func rebuilt(_ store: Registry) throws -> [String] {
        try store.database.write { db in try KernelMoveSummary.rebuildAll(db) }
        return try summary(store)
    }

    static func store(_ dir: TempDir, _ name: String, _ reports: [Report], oneAtATime: Bool = true) throws -> Registry {
        let store = try TestRegistry.open(dir.path(name))
        if oneAtATime {
            for r in reports { #expect(try store.ingest([r]).allSatisfy { $0.outcome != .rejected }) }
        } else {
            #expect(try store.ingest(reports).allSatisfy { $0.outcome != .rejected })
        }
        return store
    }

    @Test func everyArrivalOrderKeepsWhatARebuildFinds() throws {
        let dir = try TempDir()
        let inOrder = try Self.store(dir, "in-order.sqlite", Self.reports)
        let expected = try Self.summary(inOrder)
        // h: 6.6 → 6.12 (kernel), 6.12 → 6.6 (hardware), 6.6 → 6.12.0-2 (kernel); g: 6.6 → 6.8 (unknown: no registers).
        #expect(expected.filter { $0.contains(" vfio.pgsize_2m ") }.count == 3)
        #expect(Set(expected.map { $0.split(separator: " ").prefix(4).joined(separator: " ") }) == [
            "g 1750003600000 6.6.0-1-generic>6.8.0-1-generic unknown",
            "h 1750007200000 6.6.0-1-generic>6.12.0-1-generic kernel",
            "h 1750014400000 6.12.0-1-generic>6.6.0-1-generic hardware",
            "h 1750018000000 6.6.0-1-generic>6.12.0-2-generic kernel",
        ])
        #expect(try Self.rebuilt(inOrder) == expected)
        let orders: [[Int]] = [Array((0..<8).reversed()), [3, 6, 0, 5, 2, 7, 4, 1], [5, 4, 3, 2, 1, 0, 7, 6]]
        for (n, order) in orders.enumerated() {
            let store = try Self.store(dir, "order-\(n).sqlite", order.map { Self.reports[$0] })
            #expect(try Self.summary(store) == expected, "arrival order \(order)")
            #expect(try Self.rebuilt(store) == expected, "arrival order \(order), rebuilt")
        }
        // One batch (one transaction for them all) writes the same.
        #expect(try Self.summary(try Self.store(dir, "batch.sqlite", Self.reports, oneAtATime: false)) == expected)
    }

    @Test func aRetractionLeavesWhatNeverReceivingLeaves() throws {
        let dir = try TempDir()
        let all = try Self.summary(try Self.store(dir, "all.sqlite", Self.reports))
        for gone in ["h2", "h4", "h5", "g1"] {
            let store = try Self.store(dir, "retract-\(gone).sqlite", Self.reports)
            guard case .retracted = try store.retract(reportId: gone, reason: "test") else {
                Issue.record("\(gone) not retracted")
                continue
            }
            let summary = try Self.summary(store)
            #expect(summary != all, "retracting \(gone) changes moves")
            // h3 was a heartbeat of h2 and goes with it; a registry that never received h2 stored h3 instead.
            if gone != "h2" {
                let never = try Self.summary(try Self.store(dir, "never-\(gone).sqlite", Self.reports.filter { $0.reportId != gone }))
                #expect(summary == never, "retracting \(gone): \(summary.filter { !never.contains($0) }) instead of \(never.filter { !summary.contains($0) })")
            }
            #expect(try Self.rebuilt(store) == summary, "retracting \(gone), rebuilt")
        }
    }

    @Test func aRedecodeRewritesTheMovesItChanges() throws {
        let dir = try TempDir()
        let store = try Self.store(dir, "redecode.sqlite", Self.reports)
        let expected = try Self.summary(store)
        // Facts as an older decoder would have written them, summarised so: the redecode must put both right.
        try store.database.write { db in
            try db.execute("UPDATE facts SET value_int = 1 - value_int WHERE name = 'vfio.pgsize_2m' AND valid_from > ?", [StoreTime.ms(Fleet.time(1.5))])
            try db.execute("UPDATE reports SET decoder_version = 0")
            try KernelMoveSummary.rebuildAll(db)
        }
        #expect(try Self.summary(store) != expected)
        let result = try store.redecode()
        #expect(result.changed > 0)
        #expect(try Self.summary(store) == expected)
    }

    @Test func openingRebuildsWhatAMigrationAsksFor() throws {
        let dir = try TempDir()
        let path = dir.path("rebuild.sqlite")
        let expected: [String]
        do {
            let store = try Self.store(dir, "rebuild.sqlite", Self.reports)
            expected = try Self.summary(store)
            // As a registry stood when migration 0019 had just created the tables: empty, and the rebuild asked for.
            try store.database.write { db in
                try db.execute("DELETE FROM kernel_move_changes")
                try db.execute("DELETE FROM kernel_moves")
                try db.execute("INSERT INTO derived_rebuilds (name) VALUES ('kernel_moves')")
            }
            #expect(try Self.summary(store).isEmpty)
        }
        let reopened = try TestRegistry.open(path)
        #expect(try Self.summary(reopened) == expected)
        #expect(try reopened.database.read { db in try db.values("SELECT name FROM derived_rebuilds", as: String.self) } == [])
        // An older registry without moves takes the migration and its (empty) rebuild.
        let older = dir.path("older.sqlite")
        _ = try TestRegistry.open(older, migrationsBefore: "0019")
        #expect(try Self.summary(try TestRegistry.open(older)).isEmpty)
    }

    @Test func aRebuildThisCapregDoesNotKnowIsRefused() throws {
        let dir = try TempDir()
        let path = dir.path("unknown.sqlite")
        do {
            let store = try TestRegistry.open(path)
            try store.database.write { db in try db.execute("INSERT INTO derived_rebuilds (name) VALUES ('from_a_newer_capreg')") }
        }
        #expect(throws: DerivedRebuilds.UnknownRebuild.self) { try TestRegistry.open(path) }
    }
}
