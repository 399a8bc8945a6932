import Store

/// Applies migrations/postgres/ at open, with the SQLite migrator's rules (Store's Migrator): recorded
/// migrations are checked first (an unknown one: `SchemaError.newerSchema`; a changed checksum:
/// `SchemaError.tamperedMigration`), then each missing one runs in its own transaction with its
/// checksum row. Every transaction holds the writers' advisory lock, so two capreg processes starting
/// at once apply each migration once: the second finds it recorded.
enum PostgresMigrator {
    static let checksumTable = "schema_migrations"

    static func migrate(_ database: PostgresDatabase, path: String, migrations: [Migration]) throws {
        let missing = try database.write { db in
            try db.execute("CREATE TABLE IF NOT EXISTS \(checksumTable) (name TEXT PRIMARY KEY, checksum TEXT NOT NULL)")
            let recorded = try verify(db, path: path, migrations: migrations)
            return migrations.filter { recorded[$0.name] == nil }
        }
        for migration in missing {
            try database.write { db in
                // Another process may have applied it since the check above.
                if try recorded(db)[migration.name] != nil { return }
                try db.executeScript(migration.sql)
                try db.execute("INSERT INTO \(checksumTable) (name, checksum) VALUES (?, ?)", [migration.name, migration.checksum])
            }
        }
    }

    /// The recorded migrations (name: checksum), once they are known to be a prefix-compatible subset of
    /// `migrations` with unchanged text.
    static func verify(_ db: any SQLConnection, path: String, migrations: [Migration]) throws -> [String: String] {
        let recorded = try recorded(db)
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.name, $0) })
        let unknown = recorded.keys.filter { known[$0] == nil }.sorted()
        if !unknown.isEmpty { throw SchemaError.newerSchema(path: path, unknown: unknown) }
        for (name, checksum) in recorded.sorted(by: { $0.key < $1.key }) {
            if let migration = known[name], migration.checksum != checksum {
                throw SchemaError.tamperedMigration(path: path, name: name, recorded: checksum, expected: migration.checksum)
            }
        }
        return recorded
    }

    static func recorded(_ db: any SQLConnection) throws -> [String: String] {
        var recorded: [String: String] = [:]
        for row in try db.rows("SELECT name, checksum FROM \(checksumTable)") {
            recorded[row["name"] as String] = row["checksum"] as String
        }
        return recorded
    }
}
