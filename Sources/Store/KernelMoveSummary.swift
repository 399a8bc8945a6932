import Decoders
import Foundation

/// Each kernel move and the facts it changed, kept in kernel_moves and kernel_move_changes
/// (migrations/sqlite/0019_kernel_moves.sql) as history is written, so that the audits read about 140,000
/// small rows instead of seeking a million fact rows. Derived data: a host's rows are rewritten from its
/// reports, retractions, facts and capability versions, in the transaction of every write that changes its
/// history (Ingestor, retract, redecode), by the same code that fills them for a whole registry at once.
enum KernelMoveSummary {
    /// Whether a report stored at `at` may change its host's moves. An in-order report on the kernel the
    /// host already runs cannot: it closes rows at its own time, which no move shares, and starts no move.
    /// A new host has no move. Anything else (another kernel, a report at or before the host's last time,
    /// which may split or shadow a move) rewrites the host's moves.
    static func mayChange(newHost: Bool, isNewest: Bool, at: Int64, lastSeen: Int64?, kernelBefore: String?, kernelAfter: String) -> Bool {
        if newHost { return false }
        return !(isNewest && lastSeen.map { at > $0 } == true && kernelBefore == kernelAfter)
    }

    /// Rewrites `host`'s moves from its history as it now stands.
    static func refresh(_ db: any SQLConnection, host: Int64) throws {
        try db.send("DELETE FROM kernel_move_changes WHERE report IN (SELECT report FROM kernel_moves WHERE host_id = ?)", [host])
        try db.send("DELETE FROM kernel_moves WHERE host_id = ?", [host])
        try write(db, host: host)
    }

    /// Every host's moves, from nothing: the rebuild migration 0019 asks for (DerivedRebuilds).
    static func rebuildAll(_ db: any SQLConnection) throws {
        try db.send("DELETE FROM kernel_move_changes", [])
        try db.send("DELETE FROM kernel_moves", [])
        try write(db, host: nil)
    }

    /// Finds the moves of `host` (nil: every host) and writes them with their changes.
    private static func write(_ db: any SQLConnection, host: Int64?) throws {
        var moves = try Registry.findKernelMoves(db, host: host)
        guard !moves.isEmpty else { return }
        let changes = try Registry.readChangedFacts(db, &moves)
        var moveRows = RowBatch(table: "kernel_moves", columns: ["report", "host_id", "at", "from_release", "to_release", "cause"])
        var changeRows = RowBatch(table: "kernel_move_changes", columns: ["report", "name", "before_type", "before_int", "before_text",
                                                                         "after_type", "after_int", "after_text"])
        for move in moves {
            try moveRows.add(db, [move.report, move.host, move.at, move.fromRelease, move.toRelease, move.cause.rawValue])
        }
        try moveRows.flush(db)
        for (i, move) in moves.enumerated() {
            for change in changes.of(i) {
                let before = changes.value(change.before).map(FactColumns.split), after = changes.value(change.after).map(FactColumns.split)
                try changeRows.add(db, [move.report, changes.names[Int(change.name)], before?.type, before?.int, before?.text,
                                        after?.type, after?.int, after?.text])
            }
        }
        try changeRows.flush(db)
    }
}

/// Derived tables a migration asks to fill from the stored history (a derived_rebuilds row), filled once
/// every migration is applied: a rebuild is this capreg's code, written for the schema as it now is, so
/// it must not run between two migrations. One write transaction fills the table and deletes the row; a
/// second process opening at the same time finds the row gone.
public enum DerivedRebuilds {
    static let rebuilds: [String: @Sendable (any SQLConnection) throws -> Void] = ["kernel_moves": KernelMoveSummary.rebuildAll]

    /// Runs the pending rebuilds; the backends call it at open, after migrating.
    public static func run(_ database: any SQLDatabase) throws {
        let pending = try database.read { db in
            try db.tableExists("derived_rebuilds") ? try db.values("SELECT name FROM derived_rebuilds", as: String.self) : []
        }
        guard !pending.isEmpty else { return }
        try database.write { db in
            for name in try db.values("SELECT name FROM derived_rebuilds ORDER BY name", as: String.self) {
                guard let rebuild = rebuilds[name] else { throw UnknownRebuild(name: name) }
                try rebuild(db)
                try db.send("DELETE FROM derived_rebuilds WHERE name = ?", [name])
            }
        }
    }

    /// A derived_rebuilds row this capreg cannot fill (only a newer capreg's migration could have written it).
    public struct UnknownRebuild: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "derived_rebuilds names \(name), which this capreg does not know how to rebuild; use a newer capreg" }
    }
}
