
/// One schema step from migrations/NNNN_name.sql, carried in the binary (Migrations.generated.swift).
public struct Migration: Sendable, Hashable {
    public var name: String
    public var sql: String
    public var checksum: String { SHA256.hex(sql) }

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }

    /// The migrations this binary carries for a backend.
    public static func of(_ dialect: SQLDialect) -> [Migration] {
        switch dialect {
        case .sqlite: return sqlite
        case .postgres: return postgres
        }
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
