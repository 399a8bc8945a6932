import Foundation

/// How hard a commit is pushed to the disk (SQLite `synchronous` in WAL mode); docs/store.md says
/// what each promises on power loss.
public enum Durability: String, Sendable, CaseIterable {
    /// WAL is synced at checkpoints only: a process crash loses nothing committed; a power loss may
    /// lose the last transactions, never corrupt the database.
    case normal
    /// The WAL is synced at every commit: a committed (acknowledged) report survives power loss too.
    case full
}

public struct StoreConfig: Sendable {
    /// The database file; created, with its schema, when absent.
    public var path: String
    public var durability: Durability
    /// How long a writer waits for another connection's lock before failing.
    public var busyTimeout: TimeInterval
    /// Reports that share one write transaction in a batch ingest (each report has its own savepoint).
    public var batchSize: Int

    public init(path: String, durability: Durability = .normal, busyTimeout: TimeInterval = 5, batchSize: Int = 500) {
        self.path = path
        self.durability = durability
        self.busyTimeout = busyTimeout
        self.batchSize = batchSize
    }
}
