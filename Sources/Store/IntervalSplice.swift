/// One stored interval row of a host: a fact (key = name) or a capability version (key = unit/capability).
struct IntervalRow<Value: Equatable> {
    var id: Int64
    var key: String
    var value: Value
    var from: Int64
    var to: Int64
    var openedBy: Int64
    var closedBy: Int64?
}

enum IntervalOp<Value> {
    case setEnd(id: Int64, to: Int64, closedBy: Int64?)
    case setStart(id: Int64, from: Int64, openedBy: Int64)
    case delete(id: Int64)
    case insert(key: String, value: Value, from: Int64, to: Int64, openedBy: Int64, closedBy: Int64?)
}

/// Makes a host's rows say "`desired` holds on [at, until)" while every other time keeps its state.
/// `rows` must hold every row of the host with `to >= at`. In order (until = open end) this closes
/// changed rows at `at` and opens new ones; out of order it cuts the row covering `at` and, when that row
/// went on past `until`, re-opens its remainder at `until` (opened by `next`, the report there). A value
/// equal on both sides of a boundary stays (or becomes) one row: rows are maximal.
struct IntervalSplice<Value: Equatable> {
    var ops: [IntervalOp<Value>] = []
    /// Keys whose value changed on [at, until), and keys that were closed there.
    var opened = 0
    var closed = 0
    /// For each desired entry, in the same order, the start of the row that carries it at `at` (for the
    /// current projection).
    var since: [Int64] = []

    /// `desired` sorted by key (String order) with unique keys. Rows and wishes are merged in key order
    /// rather than hashed: a host has a few dozen keys, and hashing them cost more than the SQL.
    init(rows unsorted: [IntervalRow<Value>], desired: [(key: String, value: Value)], at: Int64, until: Int64, report: Int64,
         next: Int64?) {
        let rows = unsorted.sorted { $0.key < $1.key }
        since.reserveCapacity(desired.count)
        let nextCloser = until == StoreTime.openEnd ? nil : next
        var r = 0, d = 0
        while r < rows.count || d < desired.count {
            let key = r < rows.count && (d == desired.count || rows[r].key < desired[d].key) ? rows[r].key : desired[d].key
            var current: IntervalRow<Value>?, endingAt: IntervalRow<Value>?, startingAtUntil: IntervalRow<Value>?
            while r < rows.count && rows[r].key == key {
                let row = rows[r]
                if row.from <= at && row.to > at { current = row }
                if row.to == at { endingAt = row }
                if until != StoreTime.openEnd && row.from == until { startingAtUntil = row }
                r += 1
            }
            var want: Value?
            if d < desired.count && desired[d].key == key {
                want = desired[d].value
                d += 1
            }
            if let current, let want, current.value == want {
                since.append(current.from)
                continue
            }
            if let c = current {
                closed += 1
                if c.from < at {
                    ops.append(.setEnd(id: c.id, to: at, closedBy: report))
                    if c.to > until, let next {
                        ops.append(.insert(key: key, value: c.value, from: until, to: c.to, openedBy: next, closedBy: c.closedBy))
                    }
                } else if c.to > until, let next {
                    // Opened at exactly `at` by an earlier-received report of the same time: it yields [at, until).
                    ops.append(.setStart(id: c.id, from: until, openedBy: next))
                } else {
                    ops.append(.delete(id: c.id))
                }
            }
            guard let want else { continue }
            opened += 1
            let left = endingAt.flatMap { $0.value == want ? $0 : nil }
            let right = startingAtUntil.flatMap { $0.value == want ? $0 : nil }
            switch (left, right) {
            case let (l?, r?):
                ops.append(.setEnd(id: l.id, to: r.to, closedBy: r.closedBy))
                ops.append(.delete(id: r.id))
                since.append(l.from)
            case let (l?, nil):
                ops.append(.setEnd(id: l.id, to: until, closedBy: nextCloser))
                since.append(l.from)
            case let (nil, r?):
                ops.append(.setStart(id: r.id, from: at, openedBy: report))
                since.append(at)
            case (nil, nil):
                ops.append(.insert(key: key, value: want, from: at, to: until, openedBy: report, closedBy: nextCloser))
                since.append(at)
            }
        }
    }

    /// `entries` sorted by key with the first of each repeated key kept (the sort is stable).
    static func sortedUnique(_ entries: [(key: String, value: Value)]) -> [(key: String, value: Value)] {
        let sorted = zip(entries, entries.dropFirst()).allSatisfy { $0.key < $1.key } ? entries : entries.sorted { $0.key < $1.key }
        var out: [(key: String, value: Value)] = []
        out.reserveCapacity(sorted.count)
        for e in sorted where out.last?.key != e.key { out.append(e) }
        return out
    }
}
