import Foundation

/// A host's heartbeats (migrations/sqlite/0012_heartbeats.sql): reports that changed nothing, kept as
/// their times only. A row holds up to `perRow` heartbeats confirming one report; `times` is each one's
/// collected_at minus the row's first_at, as unsigned 32-bit little-endian integers in ascending order.
public enum Heartbeats {
    /// Heartbeats per row: a row is rewritten whole on each heartbeat, so it stays small (256 bytes of
    /// times), while the row's own overhead (about 90 bytes on PostgreSQL with its index entry) is shared
    /// by 64 heartbeats.
    static let perRow = 64

    /// The heartbeat times a row's `times` encodes.
    public static func times(firstAt: Int64, _ blob: Data) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(blob.count / 4)
        var i = blob.startIndex
        while i + 4 <= blob.endIndex {
            out.append(firstAt + Int64(offset(blob, i)))
            i += 4
        }
        return out
    }

    /// `times` (ascending, none before firstAt, none more than UInt32.max ms after it) as a row's blob.
    static func blob(firstAt: Int64, _ times: [Int64]) -> Data {
        var out = Data(capacity: times.count * 4)
        for t in times {
            let offset = UInt32(t - firstAt)
            out.append(contentsOf: [UInt8(offset & 0xff), UInt8(offset >> 8 & 0xff), UInt8(offset >> 16 & 0xff), UInt8(offset >> 24)])
        }
        return out
    }

    /// The newest heartbeat of a row at or before `t`, nil when there is none: a binary search over the
    /// offsets. The SQL function capreg_last_beat (both backends) answers the same.
    public static func lastBeat(firstAt: Int64, _ blob: Data, atOrBefore t: Int64) -> Int64? {
        var lo = 0, hi = blob.count / 4 - 1
        var best: Int64?
        while lo <= hi {
            let mid = (lo + hi) / 2
            let v = firstAt + Int64(offset(blob, blob.startIndex + mid * 4))
            if v <= t {
                best = v
                lo = mid + 1
            } else {
                hi = mid - 1
            }
        }
        return best
    }

    static func offset(_ blob: Data, _ i: Data.Index) -> UInt32 {
        UInt32(blob[i]) | UInt32(blob[i + 1]) << 8 | UInt32(blob[i + 2]) << 16 | UInt32(blob[i + 3]) << 24
    }

    /// Records a heartbeat of `host` at `at` confirming `report` (its current report): appended to the
    /// host's newest row when that row confirms the same report and has room, else a new row.
    static func record(_ db: any SQLConnection, host: Int64, report: Int64, at: Int64) throws {
        if let row = try db.row("SELECT first_at, last_at, report, times FROM heartbeats WHERE host_id = ? ORDER BY first_at DESC LIMIT 1", [host]) {
            let firstAt: Int64 = row[0], lastAt: Int64 = row[1], confirms: Int64 = row[2], times: Data = row[3]
            if confirms == report && at > lastAt && times.count / 4 < perRow && at - firstAt <= Int64(UInt32.max) {
                var more = times
                more.append(blob(firstAt: firstAt, [at]))
                try db.send("UPDATE heartbeats SET last_at = ?, times = ? WHERE host_id = ? AND first_at = ?", [at, more, host, firstAt])
                return
            }
        }
        try db.send("INSERT INTO heartbeats (host_id, first_at, last_at, report, times) VALUES (?, ?, ?, ?, ?)",
                       [host, at, at, report, blob(firstAt: at, [at])])
    }

    /// The host's first heartbeat strictly after `t`, with the report it confirms; nil when there is
    /// none. A host's rows do not overlap in time (heartbeats come in order, and a retraction deletes the
    /// rows of the reports it withdraws), so the first row ending after `t` holds it.
    static func first(_ db: any SQLConnection, host: Int64, after t: Int64) throws -> (at: Int64, report: Int64)? {
        let sql = "SELECT first_at, times, report FROM heartbeats WHERE host_id = ? AND last_at > ? ORDER BY first_at LIMIT 1"
        guard let row = try db.row(sql, [host, t]) else { return nil }
        guard let at = times(firstAt: row[0], row[1] as Data).first(where: { $0 > t }) else { return nil }
        return (at, row[2])
    }

    /// Deletes the host's heartbeats confirming `reports` (a retraction withdraws them with their report).
    static func withdraw(_ db: any SQLConnection, host: Int64, reports: [Int64]) throws {
        for report in reports { try db.execute("DELETE FROM heartbeats WHERE host_id = ? AND report = ?", [host, report]) }
    }

    /// Deletes the rows whose newest heartbeat is older than `cutoff` (ms): `capreg serve --keep-heartbeats`.
    /// Facts and reports are not touched (a heartbeat that bounds a late report is a reports row).
    static func prune(_ db: any SQLConnection, olderThan cutoff: Int64) throws -> Int {
        try db.execute("DELETE FROM heartbeats WHERE first_at < ?1 AND last_at < ?1", [cutoff])
    }
}

extension Registry {
    /// Deletes heartbeat rows whose newest heartbeat is older than `cutoff` (`capreg serve
    /// --keep-heartbeats`); returns how many rows went. Facts, reports and last_seen stay: only as-of
    /// freshness before the cutoff loses the times.
    public func pruneHeartbeats(olderThan cutoff: Date) throws -> Int {
        try database.write { db in try Heartbeats.prune(db, olderThan: StoreTime.ms(cutoff)) }
    }

    /// Heartbeat rows and the heartbeats they hold, for figures and tests.
    public func heartbeatCounts() throws -> (rows: Int, heartbeats: Int) {
        try database.read { db in
            let row = try db.row("SELECT count(*), coalesce(sum(length(times)), 0) FROM heartbeats")
            return (row?[0] ?? 0, (row?[1] ?? 0) / 4)
        }
    }
}
