import GRDB

/// One schema step from migrations/NNNN_name.sql, carried in the binary (Migrations.generated.swift).
public struct Migration: Sendable, Hashable {
    public var name: String
    public var sql: String
    public var checksum: String { SHA256.hex(sql) }

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }
}

public enum SchemaError: Error, Equatable, CustomStringConvertible {
    /// The database holds migrations this binary does not know: it was written by a newer capreg.
    case newerSchema(path: String, unknown: [String])
    /// An applied migration's text differs from the one this binary carries.
    case tamperedMigration(path: String, name: String, recorded: String, expected: String)

    public var description: String {
        switch self {
        case .newerSchema(let path, let unknown):
            return "\(path): the database schema is newer than this capreg knows (unknown migrations: \(unknown.joined(separator: ", "))); use a newer capreg"
        case .tamperedMigration(let path, let name, let recorded, let expected):
            return "\(path): migration \(name) was applied with checksum \(recorded.prefix(12))…, but this capreg carries \(expected.prefix(12))…; an applied migration must never change (add a new one instead)"
        }
    }
}

enum Migrator {
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
