import Decoders
import Foundation
import JSONText

/// What the change stream tells (migrations/sqlite/0016_watch_events.sql).
public enum WatchEventKind: String, Sendable, CaseIterable {
    /// What a query reads of the host now changed: its current facts or its kernel (its first report included).
    case changed
    /// An admin withdrew one of the host's reports (`capreg retract`).
    case retracted
    /// The host passed the freshness bound without reporting.
    case stale
    /// A stale host reported again.
    case fresh
}

/// One event of the change stream.
public struct WatchEvent: Sendable, Hashable {
    /// The stream position: resume after it with `since`.
    public var id: Int64
    public var at: Date
    public var hostname: String
    public var kind: WatchEventKind
    /// The registry revision that made it (nil for stale and fresh).
    public var revision: Int64?
    /// For changed and retracted: the kernel before and after and each fact gained, lost or changed.
    public var change: HostChange?
    /// The host's last-seen time when the event was read.
    public var lastSeen: Date
    /// What a query read of the host just before and just after the event (when asked for): its current
    /// state with the changes of this and every later event undone. Labels are today's.
    public var before: WatchHostState?
    public var after: WatchHostState?

    public init(id: Int64, at: Date, hostname: String, kind: WatchEventKind, revision: Int64?, change: HostChange?, lastSeen: Date) {
        self.id = id
        self.at = at
        self.hostname = hostname
        self.kind = kind
        self.revision = revision
        self.change = change
        self.lastSeen = lastSeen
    }
}

/// A host as the query language reads it.
public struct WatchHostState: Sendable, Hashable {
    public var kernelRelease: String?
    public var facts: [String: FactValue]
    public var labels: [String: String]

    /// This state with `change` undone: the state before it.
    func undoing(_ change: HostChange?) -> WatchHostState {
        guard let change else { return self }
        var out = self
        out.kernelRelease = change.kernelBefore
        for c in change.changes { out.facts[c.name] = c.before }
        return out
    }
}

/// A page of the stream, read in one transaction.
public struct WatchPage: Sendable {
    public var events: [WatchEvent]
    /// Events up to this id were pruned: a position before it cannot be resumed.
    public var prunedThrough: Int64
    /// The newest event id when read (0: none yet).
    public var head: Int64
}

/// Writing events, inside the writer's transaction.
enum WatchEvents {
    /// Records a change of the host's current state from `before` to `after` (facts sorted by name), when
    /// there is one; `kind` .retracted is recorded even when nothing current changed (history did).
    static func record(_ db: any SQLConnection, host: Int64, kind: WatchEventKind, revision: Int64, at: Int64,
                       kernelBefore: String?, kernelAfter: String?,
                       before: [(key: String, value: FactValue)], after: [(key: String, value: FactValue)], devices: [String] = []) throws {
        let changes = diff(before, after)
        guard kind == .retracted || !changes.isEmpty || kernelBefore != kernelAfter || !devices.isEmpty else { return }
        var out = JSONWriter(capacity: 128 + 64 * changes.count)
        out.objectStart()
        out.key("kernel_before")
        if let kernelBefore { out.string(kernelBefore) } else { out.null() }
        out.key("kernel_after")
        if let kernelAfter { out.string(kernelAfter) } else { out.null() }
        out.key("changes")
        out.arrayStart()
        for c in changes {
            out.objectStart()
            out.key("name")
            out.string(c.name)
            out.key("before")
            DecodedJSON.value(c.before, into: &out)
            out.key("after")
            DecodedJSON.value(c.after, into: &out)
            out.objectEnd()
        }
        out.arrayEnd()
        if !devices.isEmpty {
            out.key("devices")
            out.arrayStart()
            for d in devices { out.string(d) }
            out.arrayEnd()
        }
        out.objectEnd()
        try db.send("INSERT INTO watch_events (at, host_id, kind, revision, detail) VALUES (?, ?, ?, ?, ?)",
                    [at, host, kind.rawValue, revision, String(decoding: out.bytes, as: UTF8.self)])
    }

    static func recordPlain(_ db: any SQLConnection, host: Int64, kind: WatchEventKind, at: Int64) throws {
        try db.send("INSERT INTO watch_events (at, host_id, kind) VALUES (?, ?, ?)", [at, host, kind.rawValue])
    }

    /// The facts gained, lost or changed between two name-sorted lists.
    static func diff(_ before: [(key: String, value: FactValue)], _ after: [(key: String, value: FactValue)]) -> [FactChange] {
        var out: [FactChange] = []
        var i = 0, j = 0
        while i < before.count || j < after.count {
            if j == after.count || (i < before.count && before[i].key < after[j].key) {
                out.append(FactChange(name: before[i].key, before: before[i].value, after: nil))
                i += 1
            } else if i == before.count || after[j].key < before[i].key {
                out.append(FactChange(name: after[j].key, before: nil, after: after[j].value))
                j += 1
            } else {
                if before[i].value != after[j].value {
                    out.append(FactChange(name: before[i].key, before: before[i].value, after: after[j].value))
                }
                i += 1
                j += 1
            }
        }
        return out
    }

    /// The host's current kernel and facts (sorted by name), for writers that change them in several steps.
    static func current(_ db: any SQLConnection, host: Int64) throws -> (kernel: String?, facts: [(key: String, value: FactValue)]) {
        let kernel = try db.value("SELECT kernel_release FROM hosts WHERE id = ?", [host], as: String.self)
        let facts = try db.rows("SELECT name, type, value_int, value_text FROM current_facts WHERE host_id = ?", [host])
            .map { (key: $0[0] as String, value: FactColumns.join(type: $0[1], int: $0[2], text: $0[3])) }
            .sorted { $0.key < $1.key }
        return (kernel, facts)
    }

    /// A report or heartbeat at `at` for a host the stream holds stale: fresh again once its last-seen
    /// reaches the cutoff the last sweep applied (the host would not be stale by it).
    static func freshen(_ db: any SQLConnection, host: Int64, lastSeen: Int64, receivedAt: Int64) throws {
        guard let cutoff = try db.value("SELECT stale_through FROM watch_state WHERE id = 1", as: Int64.self),
              lastSeen >= cutoff else { return }
        try db.send("UPDATE hosts SET stale_since = NULL WHERE id = ?", [host])
        try recordPlain(db, host: host, kind: .fresh, at: receivedAt)
    }
}

extension Registry {
    /// Hosts whose stale event a sweep writes at most in one transaction.
    static let staleSweepBatch = 2000

    /// Brings the stream's staleness up to `cutoff` (ms: last-seen below it is stale): a stale event for
    /// each host that crossed it since the last sweep, a fresh event for each stale-marked host at or past
    /// it (when the cutoff moved back: a longer bound). Writes only when something changed, or when the
    /// stored cutoff lags by a minute. Safe from several replicas at once: writers are serialised and every
    /// change is conditional. Returns the events written.
    @discardableResult
    public func sweepStaleness(cutoff: Date, now: Date = Date()) throws -> Int {
        let c = StoreTime.ms(cutoff), at = StoreTime.ms(now)
        let due = try database.read { db -> Bool in
            let w = try db.value("SELECT stale_through FROM watch_state WHERE id = 1", as: Int64.self) ?? 0
            if c < w || c - w > 60_000 { return true }
            return try db.value("SELECT 1 FROM hosts WHERE last_seen >= ? AND last_seen < ? AND stale_since IS NULL LIMIT 1",
                                [w, c], as: Int64.self) != nil
        }
        guard due else { return 0 }
        return try database.write { db in
            let w = try db.value("SELECT stale_through FROM watch_state WHERE id = 1", as: Int64.self) ?? 0
            var written = 0
            if c < w {
                let back = try db.values("SELECT id FROM hosts WHERE stale_since IS NOT NULL AND last_seen >= ? ORDER BY id", [c], as: Int64.self)
                for host in back {
                    try db.send("UPDATE hosts SET stale_since = NULL WHERE id = ?", [host])
                    try WatchEvents.recordPlain(db, host: host, kind: .fresh, at: at)
                }
                written += back.count
                try db.send("UPDATE watch_state SET stale_through = ? WHERE id = 1", [c])
                return written
            }
            let rows = try db.rows("""
                SELECT id, last_seen FROM hosts WHERE last_seen >= ? AND last_seen < ? AND stale_since IS NULL
                ORDER BY last_seen, id LIMIT ?
                """, [w, c, Self.staleSweepBatch])
            for row in rows {
                try db.send("UPDATE hosts SET stale_since = ? WHERE id = ?", [at, row[0] as Int64])
                try WatchEvents.recordPlain(db, host: row[0], kind: .stale, at: at)
            }
            written += rows.count
            // A full batch: the next sweep goes on from the last host's last-seen (hosts of that same time not
            // yet marked are found again: the range includes it).
            let through = rows.count == Self.staleSweepBatch ? rows[rows.count - 1][1] as Int64 : c
            try db.send("UPDATE watch_state SET stale_through = ? WHERE id = 1", [through])
            return written
        }
    }

    /// Deletes events written before `before` and, beyond that, all but the newest `keep`. Returns how many.
    @discardableResult
    public func pruneWatchEvents(before: Date, keep: Int) throws -> Int {
        try database.write { db in
            let head = try db.value("SELECT coalesce(max(id), 0) FROM watch_events", as: Int64.self) ?? 0
            let byAge = try db.value("SELECT coalesce(max(id), 0) FROM watch_events WHERE at < ?", [StoreTime.ms(before)], as: Int64.self) ?? 0
            let through = max(byAge, head - Int64(max(0, keep)))
            let pruned = try db.value("SELECT pruned_through FROM watch_state WHERE id = 1", as: Int64.self) ?? 0
            guard through > pruned else { return 0 }
            let count = try db.value("SELECT count(*) FROM watch_events WHERE id <= ?", [through], as: Int.self) ?? 0
            try db.send("DELETE FROM watch_events WHERE id <= ?", [through])
            try db.send("UPDATE watch_state SET pruned_through = ? WHERE id = 1", [through])
            return count
        }
    }

    /// Up to `limit` events after `after`, oldest first, with (when `withStates`) each named host's current
    /// state, read in one transaction under this registry's budget.
    public func watchEvents(after: Int64, limit: Int, withStates: Bool) throws -> WatchPage {
        try budgetedRead { db in
            let state = try db.row("SELECT pruned_through, (SELECT coalesce(max(id), 0) FROM watch_events) FROM watch_state WHERE id = 1")
            let pruned: Int64 = state?[0] ?? 0
            let head: Int64 = state?[1] ?? 0
            let rows = try db.rows("""
                SELECT e.id, e.at, h.hostname, e.kind, e.revision, e.detail, h.last_seen
                FROM watch_events e JOIN hosts h ON h.id = e.host_id WHERE e.id > ? ORDER BY e.id LIMIT ?
                """, [after, max(0, limit)])
            var events: [WatchEvent] = []
            events.reserveCapacity(rows.count)
            for row in rows {
                let hostname: String = row[2]
                let detail: String? = row[5]
                events.append(WatchEvent(id: row[0], at: StoreTime.date(row[1]), hostname: hostname,
                                         kind: WatchEventKind(rawValue: row[3]) ?? .changed, revision: row[4],
                                         change: detail.flatMap { EventDetail.decode($0, hostname: hostname) },
                                         lastSeen: StoreTime.date(row[6])))
            }
            if withStates, !events.isEmpty { try attachStates(db, &events) }
            return WatchPage(events: events, prunedThrough: pruned, head: head)
        }
    }
}

/// A fact's value as JSON gives it (true/false, a number, a string), read back: the change stream's events
/// as stored and as the API sends them, and the API's host pages (`capreg query --server`). JSONDecoder keeps
/// booleans and numbers apart (JSONSerialization does not).
public struct JSONFactValue: Decodable, Sendable {
    public var value: FactValue

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { value = .bool(b) } else if let i = try? c.decode(Int64.self) { value = .int(i) } else {
            value = .text(try c.decode(String.self))
        }
    }
}

/// watch_events.detail, read back (WatchEvents.record wrote it).
private struct EventDetail: Decodable {
    struct Change: Decodable {
        var name: String
        var before: JSONFactValue?
        var after: JSONFactValue?
    }

    var kernel_before: String?
    var kernel_after: String?
    var changes: [Change]
    var devices: [String]?

    static func decode(_ text: String, hostname: String) -> HostChange? {
        guard let d = try? JSONDecoder().decode(EventDetail.self, from: Data(text.utf8)) else { return nil }
        return HostChange(hostname: hostname, kernelBefore: d.kernel_before, kernelAfter: d.kernel_after,
                          changes: d.changes.map { FactChange(name: $0.name, before: $0.before?.value, after: $0.after?.value) },
                          devices: d.devices ?? [])
    }
}

extension Registry {
    /// Each event's state before and after: from every named host's current state, the changes of the
    /// events after the page (same transaction) and then of the page's own are undone, newest first.
    func attachStates(_ db: any SQLConnection, _ events: inout [WatchEvent]) throws {
        var rolling: [String: WatchHostState] = [:]
        var ids: [Int64] = []
        for name in Set(events.map(\.hostname)) {
            guard let found = try currentState(db, hostname: name) else { continue }
            let s = found.state
            rolling[name] = WatchHostState(kernelRelease: s.kernelRelease,
                                           facts: Dictionary(s.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                                           labels: s.labels)
            ids.append(found.id)
        }
        let last = events[events.count - 1].id
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = ids[start..<min(start + 500, ids.count)]
            let later = try db.rows("""
                SELECT h.hostname, e.detail FROM watch_events e JOIN hosts h ON h.id = e.host_id
                WHERE e.id > ? AND e.detail IS NOT NULL AND e.host_id IN \(SQLPlaceholders.list(chunk.count)) ORDER BY e.id DESC
                """, [last] + chunk.map { $0 as any SQLBindable })
            for row in later {
                let name: String = row[0]
                rolling[name] = rolling[name]?.undoing(EventDetail.decode(row[1], hostname: name))
            }
        }
        for i in events.indices.reversed() {
            guard let after = rolling[events[i].hostname] else { continue }
            let before = after.undoing(events[i].change)
            events[i].after = after
            events[i].before = before
            rolling[events[i].hostname] = before
        }
    }
}
