import Report

/// Registry revisions (migrations/0004): every write takes the next number, in commit order.
enum RevisionKind: String {
    /// A stored report; its reports.id is the revision's number.
    case report
    /// A redecode batch: facts re-derived from stored bytes by newer decoders.
    case redecode
    /// A report withdrawn (`capreg retract`): its host's history recomputed without it (migrations/0008).
    case retraction
}

extension Registry {
    /// The registry revision a read sees: the newest write's number (0 for an empty registry). Every
    /// answer reads it inside the same transaction as its data, so the stamp and the data agree.
    /// The newest revision: the first statement of every answer (bench/api runs it in the page's SQL floor).
    public static let revisionSQL = "SELECT coalesce(max(id), 0) FROM revisions"

    static func revision(_ db: any SQLConnection) throws -> Int64 {
        try db.value(revisionSQL, as: Int64.self) ?? 0
    }

    /// The newest revision committed now (0 for an empty registry): one index lookup.
    public func currentRevision() throws -> Int64 {
        try database.read { db in try Self.revision(db) }
    }

    /// When revision `n` was written (ms), or nil when there is no such revision.
    static func revisionTime(_ db: any SQLConnection, _ n: Int64) throws -> Int64? {
        try db.value("SELECT at FROM revisions WHERE id = ?", [n], as: Int64.self)
    }

    /// Takes the next revision number inside the caller's write transaction.
    static func newRevision(_ db: any SQLConnection, _ kind: RevisionKind, at: Int64) throws -> Int64 {
        try db.insert("INSERT INTO revisions (kind, at, decoder_version) VALUES (?, ?, ?)", [kind.rawValue, at, SourceDecoder.decoderVersion])
    }
}
