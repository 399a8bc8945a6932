@testable import Decoders
import Foundation
import Store
import Testing
import TestSupport
@testable import StorePostgres

/// migrations/postgres/ at open, the schema's triggers, and capreg_covers against IOVAWindows.covers.
@Suite(.enabled(if: PostgresCluster.usable, Fixtures.skipNote))
struct SchemaTests {
    @Test func migrationsApplyOnceAndReopeningIsANoOp() throws {
        let url = try PostgresCluster.freshDatabase()
        let first = try PostgresDatabase(url: url)
        #expect(try first.integrityCheck() == "ok")
        try first.read { c in
            for table in ["hosts", "reports", "revisions", "facts", "current_facts", "credentials", "credential_events", "enrollment_codes"] {
                #expect(try c.tableExists(table), "\(table)")
            }
            let recorded = try c.rows("SELECT name, checksum FROM schema_migrations")
            #expect(recorded.map { $0["name"] as String } == Migration.postgres.map(\.name))
            #expect(recorded.map { $0["checksum"] as String } == Migration.postgres.map(\.checksum))
        }
        try first.close()

        let again = try PostgresDatabase(url: url)
        defer { try? again.close() }
        #expect(try again.read { c in try c.value("SELECT count(*) FROM schema_migrations", as: Int.self) } == Migration.postgres.count)
        #expect(try again.integrityCheck() == "ok")
    }

    /// Two processes starting at once: the advisory lock lets each migration run once.
    @Test func concurrentOpensApplyEachMigrationOnce() throws {
        let url = try PostgresCluster.freshDatabase()
        let failures = Locked<[String]>([])
        Fixtures.onThreads(4) { _ in
            do { try PostgresDatabase(url: url).close() } catch { failures.update { $0.append("\(error)") } }
        }
        #expect(failures.value.isEmpty, "\(failures.value)")
        let db = try PostgresDatabase(url: url)
        defer { try? db.close() }
        #expect(try db.integrityCheck() == "ok")
    }

    @Test func aChangedOrUnknownMigrationIsRefused() throws {
        let url = try PostgresCluster.freshDatabase()
        let db = try PostgresDatabase(url: url)
        let location = db.location
        try db.write { c in _ = try c.execute("UPDATE schema_migrations SET checksum = 'feedface' WHERE name = ?", [Migration.postgres[0].name]) }
        try db.close()
        #expect(throws: SchemaError.tamperedMigration(path: location, name: Migration.postgres[0].name, recorded: "feedface",
                                                       expected: Migration.postgres[0].checksum)) {
            try PostgresDatabase(url: url)
        }

        let fresh = try PostgresCluster.freshDatabase()
        let newer = try PostgresDatabase(url: fresh)
        try newer.write { c in try c.execute("INSERT INTO schema_migrations (name, checksum) VALUES ('9999_future', 'x')") }
        #expect(try newer.integrityCheck() != "ok")
        try newer.close()
        #expect(throws: SchemaError.newerSchema(path: newer.location, unknown: ["9999_future"])) { try PostgresDatabase(url: fresh) }
    }

    @Test func appendOnlyTablesRefuseChangesWithSQLitesMessage() throws {
        let db = try Fixtures.database(schema: true)
        defer { try? db.close() }
        try db.write { c in
            try c.execute("INSERT INTO write_refusals (at, hostname, report_id, reason, detail) VALUES (1, 'h', 'r', 'host_mismatch', 'd')")
        }
        for statement in ["UPDATE write_refusals SET detail = 'x'", "DELETE FROM write_refusals"] {
            do {
                try db.write { c in _ = try c.execute(statement) }
                Issue.record("\(statement) was allowed")
            } catch let error as PostgresBackendError {
                #expect(error.message == "write_refusals is append-only")
            }
        }
        // Foreign keys are checked at commit: a row may come before the row it references.
        try db.write { c in
            try c.execute("INSERT INTO host_labels (host_id, key, value) VALUES (1, 'rack', 'a')")
            try c.execute("INSERT INTO hosts (id, hostname, first_seen, last_seen, last_received) VALUES (1, 'h1', 0, 0, 0)")
        }
        #expect(throws: PostgresBackendError.self) {
            try db.write { c in _ = try c.execute("INSERT INTO host_labels (host_id, key, value) VALUES (2, 'rack', 'a')") }
        }
        // Text sorts in byte order, as SQLite's.
        try db.write { c in
            // Explicit ids, as the first host's: an identity column does not skip ids given explicitly.
            for (i, name) in ["b", "B", "a", "_", "é", "Z"].enumerated() {
                try c.execute("INSERT INTO hosts (id, hostname, first_seen, last_seen, last_received) VALUES (?, ?, 0, 0, 0)", [i + 2, name])
            }
        }
        let order = try db.read { c in try c.values("SELECT hostname FROM hosts WHERE id > 1 ORDER BY hostname", as: String.self) }
        #expect(order == ["B", "Z", "_", "a", "b", "é"])
    }

    /// capreg_covers agrees with IOVAWindows.covers (the evaluator's and SQLite's) on seeded random
    /// window lists, well-formed and not, and addresses on and around their bounds.
    @Test func coversAgreesWithIOVAWindows() throws {
        let db = try Fixtures.database(schema: true)
        defer { try? db.close() }
        var dice = Dice(state: 20_260_101)
        var cases: [(String, Int64)] = [("", 0), ("0x0-0xffffffffffffffff", Int64.max), ("0x1-0x0", 0), ("0x0-0x0", -1),
                                        ("0x0-0x10,", 5), ("0x00000000000000001-0x2", 1), ("0x-0x1", 0), ("0xA-0xb", 10),
                                        (" 0x0-0x1", 0), ("0x0-0x1 ", 0), ("0x0-0x1,0x5-0x3", 0), ("0x10-0x20", 16), ("0x10-0x20", 32)]
        for _ in 0..<1500 {
            let (text, bounds) = randomWindows(&dice)
            for _ in 0..<3 {
                var address: Int64
                if let bound = bounds.isEmpty ? nil : dice.pick(bounds), dice.chance(70) {
                    address = Int64(truncatingIfNeeded: bound) &+ Int64(dice.below(3) - 1)
                } else {
                    address = Int64(bitPattern: dice.next() >> UInt64(dice.below(64)))
                }
                if dice.chance(3) { address = -address - 1 }
                cases.append((text, address))
            }
        }
        let answers: [Int?] = try db.read { c in
            try cases.map { text, address in
                let row = try c.row("SELECT capreg_covers(?, ?)", [text, address])
                return row.flatMap { Int.read($0.values[0]) }
            }
        }
        for ((text, address), answer) in zip(cases, answers) {
            let expected = address < 0 ? nil : IOVAWindows.covers(text, UInt64(address)).map { $0 ? 1 : 0 }
            #expect(answer == expected, "capreg_covers('\(text)', \(address))")
        }
        let nulls = try db.read { c in try c.row("SELECT capreg_covers(NULL, 1), capreg_covers('0x0-0x1', NULL)") }
        #expect(nulls?.values == [.null, .null])
    }

    /// A window list as IOVAWindows writes it, or (one time in four) spoiled; and the bounds in it.
    func randomWindows(_ dice: inout Dice) -> (String, [UInt64]) {
        var windows: [IOVARange] = []
        for _ in 0..<dice.below(5) {
            let start = dice.next() >> UInt64(dice.below(64))
            let width = dice.chance(20) ? 0 : dice.next() >> UInt64(dice.below(64))
            let end = start &+ width < start ? UInt64.max : start &+ width
            windows.append(IOVARange(start: start, end: end))
        }
        var text = IOVAWindows.text(windows)
        let bounds = windows.flatMap { [$0.start, $0.end] }
        if dice.chance(25), !text.isEmpty {
            var bytes = Array(text.utf8)
            let at = dice.below(bytes.count)
            switch dice.below(5) {
            case 0: bytes[at] = dice.pick(Array("0123456789abcdefABx-, G".utf8))
            case 1: bytes.remove(at: at)
            case 2: bytes.insert(dice.pick(Array("0f,-x ".utf8)), at: at)
            case 3: bytes.append(contentsOf: Array(",0x1-0x0".utf8))
            default: bytes = Array(text.uppercased().utf8)
            }
            text = String(decoding: bytes, as: UTF8.self)
        }
        return (text, bounds)
    }
}
