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

/// Where and how the SQLite backend keeps the registry.
public struct StoreConfig: Sendable {
    /// The database file; created, with its schema, when absent.
    public var path: String
    public var durability: Durability
    /// How long a writer waits for another connection's lock before failing.
    public var busyTimeout: TimeInterval
    public init(path: String, durability: Durability = .normal, busyTimeout: TimeInterval = 5) {
        self.path = path
        self.durability = durability
        self.busyTimeout = busyTimeout
    }
}
