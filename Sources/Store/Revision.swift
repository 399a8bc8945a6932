import GRDB

extension SQLiteStore {
    /// The registry revision a read sees: the newest write's number (0 for an empty registry). Every
    /// answer reads it inside the same transaction as its data, so the stamp and the data agree.
    static func revision(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(id), 0) FROM reports")) ?? 0
    }
}
