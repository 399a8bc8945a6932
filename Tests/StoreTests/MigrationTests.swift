import Foundation
import GRDB
import Testing
import TestSupport
@testable import Store
import StoreSQLite

@Suite struct MigrationTests {
    static let migrationsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../migrations").standardized

    @Test(arguments: [("sqlite", Migration.sqlite), ("postgres", Migration.postgres)])
    func embeddedMigrationsEqualTheSQLFiles(folder: String, embedded: [Migration]) throws {
        let dir = Self.migrationsDir.appendingPathComponent(folder)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(embedded.map(\.name) == files.map { String($0.dropLast(4)) },
                "run migrations/generate.sh after adding or renaming a migration")
        for (migration, file) in zip(embedded, files) {
            var text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            if text.hasSuffix("\n") { text.removeLast() }
            #expect(migration.sql == text, "\(folder)/\(file) differs from Migrations.generated.swift: run migrations/generate.sh")
        }
    }

    @Test func freshDatabaseGetsEveryMigrationAndItsChecksum() throws {
        let dir = try TempDir()
        let store = try Registry.sqlite(path: dir.path("fresh.sqlite"))
        let recorded = try store.database.read { db in
            try db.rows("SELECT name, checksum FROM schema_migrations ORDER BY name").map { "\($0[0] as String)=\($0[1] as String)" }
        }
        #expect(recorded == Migration.sqlite.map { "\($0.name)=\($0.checksum)" })
        #expect(try store.database.read { db in try db.tableExists("facts") && db.rows("PRAGMA index_list(facts)").count >= 3 })
        #expect(try store.database.read { db in try db.value("PRAGMA journal_mode", as: String.self) } == "wal")
    }

    @Test func upgradesFromEachEarlierSchema() throws {
        let dir = try TempDir()
        let expected = try schema(of: Registry.sqlite(path: dir.path("reference.sqlite")))
        for k in 1..<Migration.sqlite.count {
            let path = dir.path("from-\(k).sqlite")
            do {
                let old = try Registry.sqlite(path: path, migrations: Array(Migration.sqlite.prefix(k)))
                try old.database.write { db in
                    try db.execute("INSERT INTO hosts (hostname, first_seen, last_seen, last_received) VALUES ('kept', 1, 2, 3)")
                }
            }
            let upgraded = try Registry.sqlite(path: path)
            #expect(try schema(of: upgraded) == expected, "upgrade from migration \(k)")
            #expect(try upgraded.count("SELECT count(*) FROM hosts WHERE hostname = 'kept'") == 1, "data survives the upgrade")
        }
    }

    @Test func refusesASchemaNewerThanTheBinary() throws {
        let dir = try TempDir()
        let path = dir.path("newer.sqlite")
        let future = Migration(name: "9999_future", sql: "CREATE TABLE future (x INTEGER)")
        _ = try Registry.sqlite(path: path, migrations: Migration.sqlite + [future])
        #expect(throws: SchemaError.newerSchema(path: path, unknown: ["9999_future"])) { try Registry.sqlite(path: path) }
        // An older binary (a downgrade) is refused the same way.
        let downgrade = dir.path("downgrade.sqlite")
        _ = try Registry.sqlite(path: downgrade)
        #expect(throws: SchemaError.self) { try Registry.sqlite(path: downgrade, migrations: [Migration.sqlite[0]]) }
    }

    @Test func refusesAChangedAppliedMigration() throws {
        let dir = try TempDir()
        let path = dir.path("tampered.sqlite")
        _ = try Registry.sqlite(path: path)
        var edited = Migration.sqlite
        edited[0].sql += "\nCREATE TABLE sneaky (x INTEGER);"
        do {
            _ = try Registry.sqlite(path: path, migrations: edited)
            Issue.record("a changed applied migration was accepted")
        } catch let error as SchemaError {
            guard case .tamperedMigration(_, let name, _, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(name == Migration.sqlite[0].name)
            #expect(error.description.contains("must never change"))
        }
        #expect(try Registry.sqlite(path: path).database.read { db in try db.tableExists("sneaky") } == false)
    }

    @Test func anEmptyPathCreatesTheDatabase() throws {
        let dir = try TempDir()
        let path = dir.path("new.sqlite")
        #expect(!FileManager.default.fileExists(atPath: path))
        _ = try Registry.sqlite(path: path)
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func schema(of store: Registry) throws -> [String] {
        try store.database.read { db in
            try db.values("SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name", as: String.self)
        }
    }
}
