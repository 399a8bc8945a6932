import Foundation

/// Moves a whole registry, with its history, from one database to another (`capreg copy-store`): SQLite to
/// PostgreSQL when a fleet outgrows one machine, and back. Resumable: each batch commits on its own in the
/// destination, and a run starts each table after the last key the destination holds. Verified: row counts
/// and a content checksum per table, read on both sides, must agree.
public enum RegistryCopy {
    /// One table of the schema, in copy order (a table comes after the tables it refers to).
    struct Table {
        var name: String
        /// Its primary key: the copy walks it in order, a batch at a time. Empty: copied whole, in one
        /// transaction (small tables without a key, or whose rows refer to each other).
        var key: [String]
        /// An integer `id` the destination numbers itself (PostgreSQL's identity must move past the copy).
        var identity = false
        /// A row the destination's migrations already made (one row of state): replaced by the source's.
        var replace = false
    }

    static let tables: [Table] = [
        Table(name: "hosts", key: ["id"], identity: true),
        Table(name: "label_sets", key: ["id"], identity: true),
        Table(name: "label_set_entries", key: ["set_id", "key"]),
        Table(name: "revisions", key: ["id"], identity: true),
        Table(name: "reports", key: ["id"], identity: true),
        Table(name: "host_labels", key: ["host_id", "key"]),
        Table(name: "capability_versions", key: ["id"], identity: true),
        Table(name: "facts", key: ["id"], identity: true),
        Table(name: "current_facts", key: ["host_id", "name"]),
        Table(name: "current_device_facts", key: ["host_id", "bdf", "name"]),
        Table(name: "host_facts_json", key: ["host_id"]),
        Table(name: "facts_superseded", key: []),
        Table(name: "retractions", key: ["report"]),
        Table(name: "heartbeats", key: ["host_id", "first_at"]),
        Table(name: "kernel_moves", key: ["report"]),
        Table(name: "kernel_move_changes", key: ["report", "name"]),
        // Empty once a registry is open (DerivedRebuilds): whole.
        Table(name: "derived_rebuilds", key: []),
        // rotated_from refers to another credential whose id may sort after it: whole, in one transaction.
        Table(name: "credentials", key: []),
        Table(name: "enrollment_codes", key: []),
        Table(name: "credential_events", key: ["id"], identity: true),
        Table(name: "write_refusals", key: ["id"], identity: true),
        Table(name: "watch_events", key: ["id"], identity: true),
        Table(name: "watch_state", key: [], replace: true),
    ]

    public struct TableResult: Sendable, Hashable {
        public var table: String
        public var copied: Int
        public var rows: Int
        public var checksum: String
    }

    public struct Summary: Sendable {
        /// The source's revision when the copy read it.
        public var revision: Int64
        public var tables: [TableResult]
    }

    public enum CopyError: Error, CustomStringConvertible {
        case differentSource(table: String)
        case unknownTables([String])
        case mismatch(table: String, sourceRows: Int, destinationRows: Int, sourceChecksum: String, destinationChecksum: String)

        public var description: String {
            switch self {
            case .differentSource(let table):
                return "the destination's \(table) holds rows the source does not: it is not empty, nor an earlier copy of this source"
            case .unknownTables(let names):
                return "the source holds tables this capreg does not copy (\(names.joined(separator: ", "))): use the capreg that made it"
            case .mismatch(let table, let s, let d, let sc, let dc):
                return "\(table) differs after the copy: source \(s) rows (checksum \(sc.prefix(12))…), destination \(d) rows (\(dc.prefix(12))…)"
            }
        }
    }

    /// Copies `source` into `destination` and verifies every table. The source is read in one transaction
    /// (one consistent state, even while it is written); `progress` hears each committed batch.
    public static func copy(from source: Registry, to destination: Registry, batchSize: Int = 2000,
                            progress: (_ table: String, _ copiedSoFar: Int) throws -> Void = { _, _ in }) throws -> Summary {
        let batch = max(1, batchSize)
        return try source.database.read { from in
            // A table this list does not know (a newer schema) must not be left behind silently.
            let unknown = try tableNames(from).filter { name in !tables.contains { $0.name == name } }
            if !unknown.isEmpty { throw CopyError.unknownTables(unknown) }
            var results: [TableResult] = []
            for table in tables {
                let columns = try columnNames(from, table.name)
                let copied = table.key.isEmpty
                    ? try copyWhole(table, columns, from, destination.database)
                    : try copyKeyed(table, columns, from, destination.database, batch) { try progress(table.name, $0) }
                if table.identity { try destination.database.write { try advanceIdentity($0, table.name) } }
                results.append(try verify(table, columns, from, destination.database, copied: copied))
            }
            return Summary(revision: try Registry.revision(from), tables: results)
        }
    }

    /// The schema's tables, without each backend's own bookkeeping (migrations applied).
    static func tableNames(_ db: any SQLConnection) throws -> [String] {
        let names: [String] = switch db.dialect {
        case .sqlite: try db.values("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", as: String.self)
        case .postgres: try db.values("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()", as: String.self)
        }
        return names.filter { $0 != "schema_migrations" && $0 != "grdb_migrations" }.sorted()
    }

    static func columnNames(_ db: any SQLConnection, _ table: String) throws -> [String] {
        var names: [String] = []
        switch db.dialect {
        case .sqlite:
            for row in try db.rows("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table]) { names.append(row[0]) }
        case .postgres:
            for row in try db.rows("""
                SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?
                ORDER BY ordinal_position
                """, [table]) { names.append(row[0]) }
        }
        return names
    }

    /// Inserts `rows` (in `columns` order) into `table`: many a statement, or one COPY.
    static func insert(_ db: any SQLConnection, _ table: String, _ columns: [String], _ rows: [SQLRow]) throws {
        try db.insertRows(into: table, columns: columns, rows: rows.map(\.values))
    }

    static func copyWhole(_ table: Table, _ columns: [String], _ from: any SQLConnection, _ to: any SQLDatabase) throws -> Int {
        if table.replace {
            let rows = try from.rows("SELECT \(columns.joined(separator: ", ")) FROM \(table.name)")
            try to.write { db in
                try db.send("DELETE FROM \(table.name)", [])
                try insert(db, table.name, columns, rows)
            }
            return rows.count
        }
        let sourceCount = try from.value("SELECT count(*) FROM \(table.name)", as: Int.self) ?? 0
        let held = try to.read { try $0.value("SELECT count(*) FROM \(table.name)", as: Int.self) ?? 0 }
        // One transaction each: the destination holds all of it (an earlier run) or none.
        if held == sourceCount { return 0 }
        if held != 0 { throw CopyError.differentSource(table: table.name) }
        let rows = try from.rows("SELECT \(columns.joined(separator: ", ")) FROM \(table.name)")
        try to.write { db in try insert(db, table.name, columns, rows) }
        return rows.count
    }

    static func copyKeyed(_ table: Table, _ columns: [String], _ from: any SQLConnection, _ to: any SQLDatabase, _ batch: Int,
                          _ progress: (Int) throws -> Void) throws -> Int {
        let keys = table.key.joined(separator: ", ")
        let descending = table.key.map { "\($0) DESC" }.joined(separator: ", ")
        let placeholders = SQLPlaceholders.list(table.key.count)
        // Resume after the destination's last key, which must be a row of the source (else it is another registry's).
        let after: [SQLValue]? = try to.read { db in try db.row("SELECT \(keys) FROM \(table.name) ORDER BY \(descending) LIMIT 1")?.values }
        if let after, try from.value("SELECT 1 FROM \(table.name) WHERE (\(keys)) = \(placeholders)", after, as: Int.self) == nil {
            throw CopyError.differentSource(table: table.name)
        }
        var copied = 0
        try KeysetBatches.forEach(from, table: table.name, columns: columns, key: table.key, after: after, batch: batch) { rows in
            try to.write { db in try insert(db, table.name, columns, rows) }
            copied += rows.count
            try progress(copied)
        }
        return copied
    }

    /// PostgreSQL numbers new rows from a sequence the explicit ids did not move: set it past them.
    static func advanceIdentity(_ db: any SQLConnection, _ table: String) throws {
        guard db.dialect == .postgres else { return }
        _ = try db.rows("SELECT setval(pg_get_serial_sequence(?, 'id'), coalesce((SELECT max(id) FROM \(table)), 0) + 1, false)", [table])
    }

    static func verify(_ table: Table, _ columns: [String], _ from: any SQLConnection, _ to: any SQLDatabase, copied: Int) throws -> TableResult {
        let source = try TableChecksum.of(from, table: table.name, columns: columns, key: table.key)
        let destination = try to.read { try TableChecksum.of($0, table: table.name, columns: columns, key: table.key) }
        guard source == destination else {
            throw CopyError.mismatch(table: table.name, sourceRows: source.rows, destinationRows: destination.rows,
                                     sourceChecksum: source.digest, destinationChecksum: destination.digest)
        }
        return TableResult(table: table.name, copied: copied, rows: source.rows, checksum: source.digest)
    }
}
