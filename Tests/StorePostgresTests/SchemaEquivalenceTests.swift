import Foundation
import GRDB
import Store
import Testing
import TestSupport
@testable import StorePostgres

/// migrations/postgres/ gives the schema migrations/sqlite/ gives: the same tables with the same
/// columns in the same order (types mapped, NOT NULL and primary keys alike), and the same index and
/// trigger names.
@Suite(.enabled(if: PostgresCluster.usable, Fixtures.skipNote))
struct SchemaEquivalenceTests {
    struct Column: Hashable, CustomStringConvertible {
        var table: String, name: String, type: String, notNull: Bool, primaryKey: Bool
        var description: String { "\(table).\(name) \(type)\(notNull ? " NOT NULL" : "")\(primaryKey ? " PK" : "")" }
    }

    /// SQLite's declared type as PostgreSQL's: INTEGER → bigint, TEXT → text, BLOB → bytea.
    static let typeMap = ["INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"]

    func sqliteSchema() throws -> (columns: [Column], indexes: Set<String>, triggers: Set<String>) {
        let queue = try DatabaseQueue()
        return try queue.write { db in
            for migration in Migration.sqlite { try db.execute(sql: migration.sql) }
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            var columns: [Column] = []
            for table in tables {
                for row in try Row.fetchAll(db, sql: "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", arguments: [table]) {
                    let type: String = row["type"]
                    let primaryKey = (row["pk"] as Int) > 0
                    // A primary key column is NOT NULL in PostgreSQL (SQLite allows NULL in a TEXT one).
                    columns.append(Column(table: table, name: row["name"], type: Self.typeMap[type] ?? "?\(type)",
                                          notNull: (row["notnull"] as Int) != 0 || primaryKey, primaryKey: primaryKey))
                }
            }
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            let triggers = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'")
            return (columns, Set(indexes), Set(triggers))
        }
    }

    @Test func postgresSchemaEqualsSQLites() throws {
        let sqlite = try sqliteSchema()
        #expect(sqlite.columns.count > 100 && sqlite.indexes.count == 28 && sqlite.triggers.count == 4, "the SQLite schema was read")
        let db = try Fixtures.database(schema: true)
        defer { try? db.close() }
        let (columns, indexes, triggers, collations) = try db.read { c in
            let columns = try c.rows("""
                SELECT c.table_name, c.column_name, c.data_type, c.is_nullable,
                       EXISTS (SELECT 1 FROM information_schema.table_constraints t
                               JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name AND k.table_name = t.table_name
                               WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_name = c.table_name AND k.column_name = c.column_name) AS pk
                FROM information_schema.columns c
                WHERE c.table_schema = current_schema() AND c.table_name <> 'schema_migrations'
                ORDER BY c.table_name, c.ordinal_position
                """).map { row in
                Column(table: row["table_name"], name: row["column_name"], type: row["data_type"],
                       notNull: (row["is_nullable"] as String) == "NO", primaryKey: row["pk"] as Bool)
            }
            // Indexes made for a PRIMARY KEY or UNIQUE constraint are SQLite's sqlite_autoindex_*: not named in SQL.
            let indexes: [String] = try c.values("""
                SELECT indexname FROM pg_indexes i WHERE schemaname = current_schema()
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname AND k.contype IN ('p', 'u'))
                """)
            let triggers: [String] = try c.values("SELECT DISTINCT trigger_name FROM information_schema.triggers WHERE trigger_schema = current_schema()")
            let collations: [String] = try c.values("""
                SELECT table_name || '.' || column_name || ' ' || coalesce(collation_name, 'default') FROM information_schema.columns
                WHERE table_schema = current_schema() AND data_type = 'text' AND table_name <> 'schema_migrations' AND collation_name IS DISTINCT FROM 'C'
                """)
            return (columns, Set(indexes), Set(triggers), collations)
        }
        let missing = sqlite.columns.filter { !columns.contains($0) }, extra = columns.filter { !sqlite.columns.contains($0) }
        #expect(missing.isEmpty && extra.isEmpty, "only in SQLite: \(missing); only in PostgreSQL: \(extra)")
        #expect(columns.map { "\($0.table).\($0.name)" } == sqlite.columns.map { "\($0.table).\($0.name)" }, "column order")
        #expect(indexes == sqlite.indexes)
        #expect(triggers == sqlite.triggers)
        #expect(collations.isEmpty, "text columns without COLLATE \"C\": \(collations)")
    }
}
