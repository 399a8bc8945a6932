import Decoders
import Foundation
import JSONText
import Query

/// `SELECT id, hostname FROM hosts h WHERE <expr> ORDER BY hostname LIMIT ?` with its arguments. Every
/// name and value of an expression travels in `arguments`, never in the SQL text: the text is built only
/// from this file's fixed fragments and the vocabulary's column map, so no query can change its shape.
public struct CompiledHostQuery: Hashable, Sendable {
    public var sql: String
    public var arguments: [SQLValue]
}

/// Compiles a query expression to plain SQL over the schema in migrations/ (the two dialects differ only
/// in how a bound JSON array becomes a set; one function of our own, `capreg_covers`, which each backend
/// provides: StoreSQLite registers it on each connection, migrations/postgres defines it).
///
/// Three-valued logic, as QueryEvaluator defines it: each node compiles to the condition that it is
/// true (`truth(e, true)`) or that it is false (`truth(e, false)`); `not` swaps the two, and a
/// predicate on an absent fact satisfies neither. So the SQL never negates an EXISTS of a comparison.
///
/// Shapes, now: the key facts read the `hosts.cur_*` columns (one row per host, no join); other facts
/// an EXISTS on `current_facts` by its primary key (host_id, name); labels an EXISTS on `host_labels`
/// by (host_id, key); the kernel `hosts.kernel_key`. As of T: an EXISTS on `facts` through
/// `facts_host_to` (host_id, valid_to > T, valid_from <= T), the kernel from the report in force at T
/// (`reports_host_time`), the labels from that report's label set. At revision N
/// like as of a time, at each host's newest report stored by N, its facts read through `factExists`.
public struct HostQuerySQL {
    public enum Mode: Hashable, Sendable {
        case now
        /// Milliseconds since the epoch.
        case asOf(Int64)
        /// The registry as it stood when report row N was stored: each host's state is that of its
        /// newest report among rows 1…N (HostAnswer's revision).
        case revision(Int64)
    }

    /// Which hosts a select lists, beside the expression.
    public struct Filter: Hashable, Sendable {
        /// Hosts whose state is at least this recent (ms), or, with `stale`, older than it.
        public var freshSince: Int64?
        public var stale = false
        /// Hosts for which the expression is not true (false or unknown): explain's other list.
        public var notMatching = false
        /// Only the host of this name (an export of one node).
        public var hostname: String?

        public init(freshSince: Int64? = nil, stale: Bool = false, notMatching: Bool = false) {
            self.freshSince = freshSince
            self.stale = stale
            self.notMatching = notMatching
        }
    }

    /// Key facts mirrored in `hosts` columns by ingest (StateWriter.updateKeyFacts); NULL = absent.
    static let keyColumns: [String: String] = [
        CrossVendor.vendor: "cur_vendor",
        CrossVendor.nesting: "cur_nesting",
        CrossVendor.pasidBind: "cur_pasid_bind",
        CrossVendor.pasidBits: "cur_pasid_bits",
        CrossVendor.addrWidth: "cur_addr_width",
        CrossVendor.firstLevelFormat: "cur_first_level_format",
    ]

    let mode: Mode
    let dialect: SQLDialect
    var arguments: [SQLValue] = []
    /// Inside `devices(…)`: facts are device `d`'s rows of current_device_facts, not the host's.
    var inDevice = false

    /// Hosts matching `expr` (all hosts when nil), ordered by hostname, after `hostname` (keyset), at most `limit`.
    /// Each row is `h.id, h.hostname`, then `columns` (expressions over `h`, without arguments: a page now
    /// reads its kernel, state time and key facts from the row it already has, HostPageReads.nowColumns).
    public static func select(_ expr: QueryExpr?, mode: Mode, after hostname: String?, limit: Int, filter: Filter = Filter(),
                              dialect: SQLDialect = .sqlite, columns: [String] = []) -> CompiledHostQuery {
        var compiler = HostQuerySQL(mode: mode, dialect: dialect)
        var conditions = compiler.conditions(expr, filter)
        if let hostname {
            conditions.append("h.hostname > ?")
            compiler.arguments.append(.text(hostname))
        }
        compiler.arguments.append(.int(Int64(limit)))
        // Stale hosts are few in a healthy fleet: find them through hosts_last_seen and sort them, rather
        // than walk the whole fleet in hostname order looking for them (ordering by an expression keeps
        // SQLite's planner off the hostname index; the order is the same).
        let order = filter.stale && mode == .now ? "h.hostname || ''" : "h.hostname"
        let selected = columns.isEmpty ? "h.id, h.hostname" : "h.id, h.hostname, " + columns.joined(separator: ", ")
        return CompiledHostQuery(sql: "SELECT \(selected) FROM \(from(mode, filter, dialect))" + whereClause(conditions) + " ORDER BY \(order) LIMIT ?",
                                 arguments: compiler.arguments)
    }

    /// How many hosts `select` would list over all pages (computed in SQL, nothing materialized).
    public static func count(_ expr: QueryExpr?, mode: Mode, filter: Filter = Filter(), dialect: SQLDialect = .sqlite) -> CompiledHostQuery {
        var compiler = HostQuerySQL(mode: mode, dialect: dialect)
        let conditions = compiler.conditions(expr, filter)
        return CompiledHostQuery(sql: "SELECT count(*) FROM \(from(mode, filter, dialect))" + whereClause(conditions), arguments: compiler.arguments)
    }

    /// `hosts h`, and for the stale hosts now on SQLite the index that finds them: without statistics SQLite
    /// rates an equality on a capability index (migrations/0015: `pasid_bind` seeks hosts_by_pasid_bind)
    /// above the range on last_seen, and read the table row of every matching host to find the few stale
    /// ones (3.9 ms against 0.2 for the placement page of docs/figures.md). hosts_count starts with last_seen
    /// and holds the key facts, so the range tests them on the index. PostgreSQL weighs both by its statistics.
    static func from(_ mode: Mode, _ filter: Filter, _ dialect: SQLDialect) -> String {
        filter.stale && mode == .now && dialect == .sqlite ? "hosts h INDEXED BY hosts_count" : "hosts h"
    }

    static func whereClause(_ conditions: [String]) -> String { conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ") }

    /// The host existed at the reference, the freshness bound, and the expression's side.
    mutating func conditions(_ expr: QueryExpr?, _ filter: Filter) -> [String] {
        var out: [String] = []
        switch mode {
        case .now: break
        case .asOf(let t):
            out.append("h.first_seen <= ?")
            arguments.append(.int(t))
        case .revision(let n):
            out.append("EXISTS (SELECT 1 FROM reports r WHERE r.host_id = h.id AND r.id <= ?)")
            arguments.append(.int(n))
        }
        // The expression before the freshness bound (arguments bind in text order, so the text is built in
        // this order too): SQLite's planner credits an index with the WHERE terms it can test before reading
        // the table row only up to the first term it cannot, and hosts_page (migrations/0013) holds the key
        // facts but not last_seen.
        if let expr {
            // NOT of a condition that may be NULL (a key column of an absent fact) is NULL again: the
            // other side is every host for which the condition is not TRUE.
            out.append(filter.notMatching ? "(" + truth(expr, true) + ") IS NOT TRUE" : truth(expr, true))
        } else if filter.notMatching {
            out.append("1 = 0")
        }
        if let hostname = filter.hostname {
            out.append("h.hostname = ?")
            arguments.append(.text(hostname))
        }
        if let since = filter.freshSince {
            // Fresh hosts are most of the fleet: `+` keeps the planner off hosts_last_seen for them (a range
            // over nearly every row, then a table lookup each, is 5x slower than a scan); stale ones use it.
            // Without an expression (a count of fresh hosts) the index covers the whole question.
            out.append(filter.stale ? stateTime() + " < ?" : (expr == nil ? "" : "+") + stateTime() + " >= ?")
            arguments.append(.int(since))
        }
        return out
    }

    /// SQL for the time of the host's state at the reference: when it was last seen now; as of T, the
    /// newer of the report in force and the newest heartbeat at or before T; at revision N, its newest
    /// report among rows 1…N (heartbeats make no revision).
    mutating func stateTime() -> String {
        switch mode {
        case .now: return "h.last_seen"
        case .asOf(let t):
            let report = "(SELECT r.collected_at FROM reports r WHERE r.host_id = h.id AND \(reportInForce()) LIMIT 1)"
            arguments += [.int(t), .int(t)]
            // A host's heartbeat rows do not overlap: the newest one starting at or before T holds its newest heartbeat then.
            let beat = "(SELECT capreg_last_beat(b.first_at, b.times, ?) FROM heartbeats b WHERE b.host_id = h.id AND b.first_at <= ? ORDER BY b.first_at DESC LIMIT 1)"
            return "(SELECT max(seen.t) FROM (SELECT \(report) AS t UNION ALL SELECT \(beat) AS t) AS seen)"
        case .revision: return "(SELECT r.collected_at FROM reports r WHERE r.host_id = h.id AND \(reportInForce()) LIMIT 1)"
        }
    }

    /// The WHERE and ORDER BY tail that picks, among `reports r` of host h, the one in force.
    mutating func reportInForce() -> String {
        switch mode {
        case .now:
            return "\(RetractionSQL.counts("r")) ORDER BY r.collected_at DESC, r.id DESC"
        case .asOf(let t):
            arguments.append(.int(t))
            return "r.collected_at <= ? AND \(RetractionSQL.counts("r")) ORDER BY r.collected_at DESC, r.id DESC"
        case .revision(let n):
            // Retracted reports count until the revision that retracted them.
            arguments += [.int(n), .int(n)]
            return "r.id <= ? AND \(RetractionSQL.counts("r", atRevision: "?")) ORDER BY r.collected_at DESC, r.id DESC"
        }
    }

    /// The host's labels `l` (key, value) at the reference, as `table l WHERE …`: now `host_labels`; as of
    /// T or at a revision the label set of the report in force (migrations/0007).
    mutating func labelOwner() -> String {
        switch mode {
        case .now: return "host_labels l WHERE l.host_id = h.id"
        case .asOf, .revision:
            return "label_set_entries l WHERE l.set_id = (SELECT r.label_set_id FROM reports r WHERE r.host_id = h.id AND \(reportInForce()) LIMIT 1)"
        }
    }

    /// The fact-interval test "valid at the reference" for facts f (as of T, or at each host's state
    /// time for a revision).
    mutating func validAtReference() -> String {
        switch mode {
        case .now: return "1 = 1"  // not reached: now reads current_facts
        case .asOf(let t):
            arguments += [.int(t), .int(t)]
            return "f.valid_to > ? AND f.valid_from <= ?"
        case .revision:
            let t = stateTime()
            let t2 = stateTime()
            return "f.valid_to > \(t) AND f.valid_from <= \(t2)"
        }
    }

    /// The condition that `expr` is true (`want`) or false (`!want`) for host `h`.
    mutating func truth(_ expr: QueryExpr, _ want: Bool) -> String {
        switch expr {
        case .and(let parts):
            return "(" + parts.map { truth($0, want) }.joined(separator: want ? " AND " : " OR ") + ")"
        case .or(let parts):
            return "(" + parts.map { truth($0, want) }.joined(separator: want ? " OR " : " AND ") + ")"
        case .not(let inner):
            return truth(inner, !want)
        case .named(_, let inner):
            return truth(inner, want)
        case .has(let term):
            return present(term, want)
        case .covers(let term, let address):
            return covers(term, address, want)
        case .compare(let term, let op, let literal):
            return compare(term, want ? op : op.negated, [literal])
        case .oneOf(.kernel, let literals):
            return kernelList(literals, want)
        case .devices(let inner, let op, let count):
            return devices(inner, want ? op : op.negated, count)
        case .oneOf(let term, let literals):
            return compare(term, want ? .eq : .ne, literals)
        }
    }

    /// `term op literal`, or with several literals `term [NOT] IN (…)` (op is then = or !=).
    mutating func compare(_ term: QueryTerm, _ op: QueryOp, _ literals: [QueryLiteral]) -> String {
        switch term {
        case .kernel:
            guard case .kernel(let version)? = literals.first else { return "0 = 1" }  // the parser never builds this
            return kernel(version, op)
        case .label(let key):
            let owner = labelOwner()
            arguments.append(.text(key))
            return "EXISTS (SELECT 1 FROM \(owner) AND l.key = ? AND l.value " + values(op, literals) + ")"
        case .fact(let name, let type):
            let column = type == .text ? "value_text" : "value_int"
            if inDevice {
                arguments.append(.text(name))
                return "EXISTS (SELECT 1 FROM current_device_facts x WHERE x.host_id = d.host_id AND x.bdf = d.bdf AND x.name = ? AND x.\(column) "
                    + values(op, literals) + ")"
            }
            switch mode {
            case .now:
                if let key = HostQuerySQL.keyColumns[name] { return "h.\(key) " + values(op, literals) }
                arguments.append(.text(name))
                return "EXISTS (SELECT 1 FROM current_facts c WHERE c.host_id = h.id AND c.name = ? AND c.\(column) "
                    + values(op, literals) + ")"
            case .asOf, .revision:
                return factExists { q in
                    let valid = q.validAtReference()
                    q.arguments.append(.text(name))
                    return "\(valid) AND f.name = ? AND f.\(column) " + q.values(op, literals)
                }
            }
        }
    }

    /// Whether host h has a fact row `f` meeting `condition` (built after the SQL before it, as arguments
    /// bind in text order). As of T the rows are the facts table. At a revision they are the rows as that
    /// revision left them: the copy a later redecode saved of them (facts_superseded, the earliest after
    /// N), or the facts table when no redecode has rewritten the host since.
    mutating func factExists(_ condition: (inout HostQuerySQL) -> String) -> String {
        guard case .revision(let n) = mode else {
            return "EXISTS (SELECT 1 FROM facts f WHERE f.host_id = h.id AND " + condition(&self) + ")"
        }
        arguments.append(.int(n))
        let rewritten = "EXISTS (SELECT 1 FROM facts_superseded s WHERE s.host_id = h.id AND s.revision > ?)"
        arguments.append(.int(n))
        let saved = "EXISTS (SELECT 1 FROM facts_superseded f WHERE f.host_id = h.id AND f.revision = "
            + "(SELECT min(s.revision) FROM facts_superseded s WHERE s.host_id = h.id AND s.revision > ?) AND " + condition(&self) + ")"
        let live = "EXISTS (SELECT 1 FROM facts f WHERE f.host_id = h.id AND " + condition(&self) + ")"
        return "(CASE WHEN \(rewritten) THEN \(saved) ELSE \(live) END)"
    }

    /// `op ?`, or for a list `[NOT] IN (SELECT value FROM json_each(?))` binding one JSON array: one set
    /// SQLite builds once per statement, however long the list (a placeholder per entry made a 1,000-entry
    /// list one huge expression).
    mutating func values(_ op: QueryOp, _ literals: [QueryLiteral]) -> String {
        if literals.count == 1 {
            arguments.append(HostQuerySQL.argument(literals[0]))
            return HostQuerySQL.sqlOperator(op) + " ?"
        }
        return (op == .eq ? "" : "NOT ") + inSet(literals.map(HostQuerySQL.argument))
    }

    /// `IN (SELECT value FROM json_each(?))`, binding `values` as one JSON array (JSONText writes it).
    /// A list holds one type (the type checker sees to it): integers are cast back where the dialect
    /// reads the array as text.
    mutating func inSet(_ values: [SQLValue]) -> String {
        var json = JSONWriter(capacity: 16 * values.count)
        var integers = true
        json.arrayStart()
        for value in values {
            switch value {
            case .int(let i): json.int(i)
            case .text(let t):
                json.string(t)
                integers = false
            default: integers = false  // compile() binds integers and text only
            }
        }
        json.arrayEnd()
        arguments.append(.text(String(decoding: json.bytes, as: UTF8.self)))
        return "IN (\(dialect.jsonArrayElements(integers: integers)))"
    }

    /// `kernel [not] in (…)` as set lookups on the host's kernel key, one per kind of entry: a series
    /// ("6", "6.1", "6.1.55") is every key starting with its zero-padded numbers (the same keys as its range
    /// [lower, upper)), a release with a flavour is its key. So the host's kernel is read once per kind (at
    /// most four times) rather than twice per entry: as of T each read is a lookup of the report in force,
    /// and a 200-entry list with as_of cost 400 of them per host (14.5 s of CPU on 100,000 hosts).
    mutating func kernelList(_ literals: [QueryLiteral], _ want: Bool) -> String {
        var byPrefixLength: [Int: [SQLValue]] = [:]  // 0: whole keys
        for case .kernel(let version) in literals {
            let (key, length) = HostQuerySQL.kernelPattern(version)
            byPrefixLength[length, default: []].append(.text(key))
        }
        let lookups = byPrefixLength.keys.sorted().map { length in
            let k = kernelKey()
            return (length == 0 ? k : "substr(\(k), 1, \(length))") + " " + inSet(byPrefixLength[length]!)
        }
        // A host without a kernel gives NULL in every lookup, so it is on neither side (three-valued logic).
        let any = "(" + lookups.joined(separator: " OR ") + ")"
        return want ? any : "NOT " + any
    }

    /// A kernel literal's key and how much of a host's key must equal it: the whole key (0) for a release
    /// with a flavour; for a series the numbers it gives (`000006.` for "6", `000006.000001.` for "6.1",
    /// `000006.000001.000055` for "6.1.55", a flavour may follow).
    static func kernelPattern(_ version: KernelVersion) -> (String, Int) {
        let key = KernelKey.of(version.lower)
        guard let upper = version.upper else { return (key, 0) }
        let components = upper.major != version.lower.major ? 1 : upper.minor != version.lower.minor ? 2 : 3
        let length = components == 3 ? 20 : 7 * components
        return (String(key.prefix(length)), length)
    }

    /// Kernel versions compare through the version-ordered key; a series is the range [lower, upper).
    mutating func kernel(_ version: KernelVersion, _ op: QueryOp) -> String {
        let lower = SQLValue.text(KernelKey.of(version.lower))
        guard let upper = version.upper.map({ SQLValue.text(KernelKey.of($0)) }) else {
            let k = kernelKey()
            arguments.append(lower)
            return "\(k) " + HostQuerySQL.sqlOperator(op) + " ?"
        }
        func bound(_ sqlOp: String, _ value: SQLValue) -> String {
            let k = kernelKey()
            arguments.append(value)
            return "\(k) \(sqlOp) ?"
        }
        switch op {
        case .eq: return "(" + bound(">=", lower) + " AND " + bound("<", upper) + ")"
        case .ne: return "(" + bound("<", lower) + " OR " + bound(">=", upper) + ")"
        case .lt: return bound("<", lower)
        case .le: return bound("<", upper)
        case .gt: return bound(">=", upper)
        case .ge: return bound(">=", lower)
        }
    }

    /// The host's kernel key: now the hosts column, as of T the report in force at T.
    mutating func kernelKey() -> String {
        switch mode {
        case .now: return "h.kernel_key"
        case .asOf, .revision: return "(SELECT r.kernel_key FROM reports r WHERE r.host_id = h.id AND \(reportInForce()) LIMIT 1)"
        }
    }

    /// `covers(term, address)` (want) or that no window covers it: `capreg_covers` (below) on the fact's
    /// text is 1 or 0, and NULL (neither) when the text is not a window list.
    mutating func covers(_ term: QueryTerm, _ address: Int64, _ want: Bool) -> String {
        guard case .fact(let name, _) = term else { return "0 = 1" }  // the parser never builds this
        let outcome = want ? "1" : "0"
        switch mode {
        case .now:
            arguments += [.text(name), .int(address)]
            return "EXISTS (SELECT 1 FROM current_facts c WHERE c.host_id = h.id AND c.name = ? AND capreg_covers(c.value_text, ?) = \(outcome))"
        case .asOf, .revision:
            return factExists { q in
                let valid = q.validAtReference()
                q.arguments += [.text(name), .int(address)]
                return "\(valid) AND f.name = ? AND capreg_covers(f.value_text, ?) = \(outcome)"
            }
        }
    }

    /// `devices(inner) op count` true: the host reported devices (`devices.count`), and the number of its
    /// devices `d` (one row named device.bdf each) for which `inner` is true compares so. The parser
    /// admits only device names inside, and HostAnswer only the current state.
    mutating func devices(_ inner: QueryExpr, _ op: QueryOp, _ count: Int64) -> String {
        guard mode == .now, !inDevice else { return "0 = 1" }  // refused before compiling (HostAnswerError.devicesNowOnly)
        arguments.append(.text(PCIDevice.hostCount))
        let reported = "EXISTS (SELECT 1 FROM current_facts c WHERE c.host_id = h.id AND c.name = ?)"
        arguments.append(.text(PCIDevice.bdf))
        inDevice = true
        let condition = truth(inner, true)
        inDevice = false
        arguments.append(.int(count))
        return "(\(reported) AND (SELECT count(*) FROM current_device_facts d WHERE d.host_id = h.id AND d.name = ? AND \(condition)) "
            + HostQuerySQL.sqlOperator(op) + " ?)"
    }

    /// `has(term)` (want) or its negation.
    mutating func present(_ term: QueryTerm, _ want: Bool) -> String {
        let exists = want ? "EXISTS" : "NOT EXISTS"
        switch term {
        case .kernel:
            return kernelKey() + (want ? " IS NOT NULL" : " IS NULL")
        case .label(let key):
            let owner = labelOwner()
            arguments.append(.text(key))
            return exists + " (SELECT 1 FROM \(owner) AND l.key = ?)"
        case .fact(let name, _):
            if inDevice {
                arguments.append(.text(name))
                return exists + " (SELECT 1 FROM current_device_facts x WHERE x.host_id = d.host_id AND x.bdf = d.bdf AND x.name = ?)"
            }
            switch mode {
            case .now:
                if let key = HostQuerySQL.keyColumns[name] { return "h.\(key)" + (want ? " IS NOT NULL" : " IS NULL") }
                arguments.append(.text(name))
                return exists + " (SELECT 1 FROM current_facts c WHERE c.host_id = h.id AND c.name = ?)"
            case .asOf, .revision:
                let found = factExists { q in
                    let valid = q.validAtReference()
                    q.arguments.append(.text(name))
                    return "\(valid) AND f.name = ?"
                }
                return want ? found : "NOT " + found
            }
        }
    }

    static func sqlOperator(_ op: QueryOp) -> String { op == .ne ? "<>" : op.rawValue }

    static func argument(_ literal: QueryLiteral) -> SQLValue {
        switch literal {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let i): return .int(i)
        case .text(let s): return .text(s)
        case .kernel(let k): return .text(KernelKey.of(k.lower))  // compare() handles kernels; not reached
        }
    }
}
