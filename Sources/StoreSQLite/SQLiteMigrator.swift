import GRDB
import Store

enum SQLiteMigrator {
    static let checksumTable = "schema_migrations"

    /// Checks recorded migrations against `migrations`, then applies the missing ones in order, each in
    /// its own transaction together with its checksum row.
    static func migrate(_ writer: some DatabaseWriter, path: String, migrations: [Migration]) throws {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.name) { db in
                try ensureChecksumTable(db)
                try db.execute(sql: migration.sql)
                try db.execute(sql: "INSERT INTO \(checksumTable) (name, checksum) VALUES (?, ?)",
                               arguments: [migration.name, migration.checksum])
            }
        }
        try writer.barrierWriteWithoutTransaction { db in
            try verify(db, path: path, migrations: migrations)
        }
        try migrator.migrate(writer)
    }

    static func ensureChecksumTable(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS \(checksumTable) (name TEXT PRIMARY KEY, checksum TEXT NOT NULL)")
    }

    static func verify(_ db: Database, path: String, migrations: [Migration]) throws {
        guard try db.tableExists("grdb_migrations") else { return }
        let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.name, $0) })
        let unknown = applied.filter { known[$0] == nil }
        if !unknown.isEmpty { throw SchemaError.newerSchema(path: path, unknown: unknown) }
        guard try db.tableExists(checksumTable) else { return }
        for row in try Row.fetchAll(db, sql: "SELECT name, checksum FROM \(checksumTable)") {
            let name: String = row["name"]
            let recorded: String = row["checksum"]
            if let migration = known[name], migration.checksum != recorded {
                throw SchemaError.tamperedMigration(path: path, name: name, recorded: recorded, expected: migration.checksum)
            }
        }
    }
}
