import Foundation
import Query

/// The state a question is asked against: now, as of a time, or as of a registry revision.
public enum QueryReference: Hashable, Sendable {
    case now
    case time(Date)
    /// The registry as it stood when revision N was written (migrations/0004).
    case revision(Int64)
}

/// One question of the hosts endpoint, with every bound it may set.
public struct HostQueryRequest: Sendable {
    public var expr: QueryExpr?
    public var reference: QueryReference
    /// Fact names to return (nil: every fact).
    public var fields: Set<String>?
    public var limit: Int
    public var cursor: String?
    /// Hosts whose state is older than this at the reference are stale: left out of `matches` and
    /// listed in `stale` (nil: every host counts as fresh).
    public var freshWithin: TimeInterval?
    public var staleCursor: String?
    /// Also list (a page of) the hosts for which the expression is not true, for explain.
    public var notMatching: Bool
    public var notMatchingCursor: String?
    /// Count every list over all its pages.
    public var totals: Bool
    /// A page ends early once its facts pass this many bytes (HostQueryLimits.maxPageBytes).
    public var maxPageBytes = HostQueryLimits.maxPageBytes
    /// Also read each matching host's devices and current revision (now only; exports).
    public var devices = false
    /// Only this host (its page holds it or nothing).
    public var hostname: String?

    public init(_ expr: QueryExpr?, reference: QueryReference = .now, fields: Set<String>? = nil, limit: Int = HostQueryLimits.default,
                cursor: String? = nil, freshWithin: TimeInterval? = nil, staleCursor: String? = nil, notMatching: Bool = false,
                notMatchingCursor: String? = nil, totals: Bool = false) {
        self.expr = expr
        self.reference = reference
        self.fields = fields
        self.limit = limit
        self.cursor = cursor
        self.freshWithin = freshWithin
        self.staleCursor = staleCursor
        self.notMatching = notMatching
        self.notMatchingCursor = notMatchingCursor
        self.totals = totals
    }
}

public struct HostAnswer: Sendable {
    /// The registry revision the answer was computed at: the newest write at the time of the read (or
    /// the requested one). 0 for an empty registry.
    public var revision: Int64
    /// The time ages are measured from: now, T, or when the revision was written.
    public var referenceTime: Date
    /// Fresh hosts for which the expression is true.
    public var matches: HostPage
    public var matchTotal: Int?
    /// Hosts that match but whose state is older than the freshness bound (nil without one).
    public var stale: HostPage?
    public var staleTotal: Int?
    /// Fresh hosts for which the expression is false or unknown, with the facts it names (explain).
    public var notMatching: HostPage?
    public var notMatchingTotal: Int?
}

public enum HostAnswerError: Error, Hashable, Sendable, CustomStringConvertible {
    case noSuchRevision(requested: Int64, newest: Int64)
    /// `devices(…)` asked as of a time or revision: device facts are kept current only (their history is
    /// each device's capability versions, not a queryable projection).
    case devicesNowOnly

    /// The parameter at fault, as the API names it.
    public var parameter: String {
        switch self {
        case .noSuchRevision: return "as_of_revision"
        case .devicesNowOnly: return "where"
        }
    }

    public var description: String {
        switch self {
        case .devicesNowOnly:
            return "devices(…) is answered from each host's current devices only: ask it without as_of or as_of_revision"
        case .noSuchRevision(let n, let newest):
            return newest == 0 ? "revision \(n) does not exist: the registry is empty"
                : "revision \(n) does not exist: revisions run from 1 to \(newest)"
        }
    }
}

extension Registry {
    /// Answers a request in one read transaction, so every list and count sees the same revision.
    public func answer(_ request: HostQueryRequest, now: Date = Date()) throws -> HostAnswer {
        guard (1...HostQueryLimits.max).contains(request.limit) else { throw HostQueryError.badLimit(request.limit) }
        let cursors = try (request.cursor.map(HostCursor.decode), request.staleCursor.map(HostCursor.decode),
                           request.notMatchingCursor.map(HostCursor.decode))
        if (request.expr?.readsDevices == true || request.devices) && request.reference != .now { throw HostAnswerError.devicesNowOnly }
        return try budgetedRead { db in
            let newest = try Registry.revision(db)
            let mode: HostQuerySQL.Mode
            let reference: Date
            let revision: Int64
            switch request.reference {
            case .now:
                (mode, reference, revision) = (.now, now, newest)
            case .time(let t):
                (mode, reference, revision) = (.asOf(StoreTime.ms(t)), t, newest)
            case .revision(let n):
                guard n >= 1, n <= newest, let written = try Registry.revisionTime(db, n)
                else { throw HostAnswerError.noSuchRevision(requested: n, newest: newest) }
                (mode, reference, revision) = (.revision(n), StoreTime.date(written), n)
            }
            let since = request.freshWithin.map { StoreTime.ms(reference.addingTimeInterval(-$0)) }

            func count(_ expr: QueryExpr?, _ filter: HostQuerySQL.Filter) throws -> Int {
                try Registry.count(db, expr, mode: mode, filter: filter)
            }
            /// A page, and its list's total when asked for (or free: a first page that holds everything).
            func list(_ filter: HostQuerySQL.Filter, after: String?, fields: Set<String>?, counted: Bool) throws -> (HostPage, Int?) {
                let page = try Registry.page(db, request.expr, mode: mode, filter: filter, after: after, limit: request.limit, fields: fields,
                                                maxBytes: request.maxPageBytes)
                if after == nil && page.nextCursor == nil { return (page, page.hosts.count) }
                return (page, counted ? try count(request.expr, filter) : nil)
            }
            var fresh = HostQuerySQL.Filter(freshSince: since)
            fresh.hostname = request.hostname
            let (matches, matchTotal) = try list(fresh, after: cursors.0, fields: request.fields, counted: request.totals || request.notMatching)
            var answer = HostAnswer(revision: revision, referenceTime: reference, matches: request.devices ? try Registry.withDevices(db, matches) : matches,
                                    matchTotal: matchTotal)
            if let since {
                // Stale hosts are always counted: a scheduler must see how much of the fleet it cannot trust.
                (answer.stale, answer.staleTotal) = try list(HostQuerySQL.Filter(freshSince: since, stale: true), after: cursors.1, fields: [],
                                                             counted: true)
            }
            if request.notMatching {
                // The facts the expression names (and, for usable facts, both halves), which explain needs to say why.
                let named = request.expr.map(QueryExplainer.factsNeeded) ?? []
                let other = HostQuerySQL.Filter(freshSince: since, notMatching: true)
                (answer.notMatching, answer.notMatchingTotal) = try list(other, after: cursors.2, fields: named, counted: false)
                // Explaining devices(…) counts each host's devices again: read them for this page.
                if request.expr?.readsDevices == true, let page = answer.notMatching { answer.notMatching = try Registry.withDevices(db, page) }
                // Every fresh host is on one side: the other side's total is the rest (one scan, not two).
                if answer.notMatchingTotal == nil, let matchTotal = answer.matchTotal {
                    answer.notMatchingTotal = try count(nil, fresh) - matchTotal
                }
            }
            return answer
        }
    }

    static func page(_ db: any SQLConnection, _ expr: QueryExpr?, mode: HostQuerySQL.Mode, filter: HostQuerySQL.Filter, after: String?, limit: Int,
                     fields: Set<String>?, maxBytes: Int = HostQueryLimits.maxPageBytes) throws -> HostPage {
        // One row more than asked tells whether another page exists.
        // Now, the page statement also reads each host's kernel, state time and key facts (or whole facts).
        let now = mode == .now ? HostPageReads.NowColumns(fields: fields) : nil
        let compiled = pageStatement(expr, mode: mode, filter: filter, after: after, limit: limit, now: now, dialect: db.dialect)
        var rows: [HostPageReads.PageRow] = []
        rows.reserveCapacity(limit + 1)
        try db.forEachRow(compiled.sql, (compiled.arguments)) { r in
            // The row past the page only says that another page exists: its columns are not read.
            let read = rows.count < limit ? now?.read(r) : nil
            rows.append(HostPageReads.PageRow(id: r.int64(0), hostname: r.text(1), now: read))
        }
        var more = rows.count > limit
        if more { rows.removeLast() }
        var hosts = try HostPageReads.hosts(db, rows, mode: mode, fields: fields, now: now)
        // Past maxPageBytes of facts the page ends early; the next page goes on after its last host.
        var bytes = 0
        for i in hosts.indices {
            bytes += hosts[i].storedFacts.approximateBytes + hosts[i].hostname.utf8.count + 200  // head and labels, about
            if bytes > maxBytes && i + 1 < hosts.count {
                hosts.removeSubrange((i + 1)...)
                more = true
                break
            }
        }
        return HostPage(hosts: hosts, nextCursor: more ? hosts.last.map { HostCursor.encode(after: $0.hostname) } : nil)
    }

    /// The one statement `page` runs for a page of `limit` (it asks for one row more); bench/api runs it alone
    /// as the page's own SQL floor.
    public static func pageStatement(_ expr: QueryExpr?, mode: HostQuerySQL.Mode, filter: HostQuerySQL.Filter, after: String?, limit: Int,
                                     fields: Set<String>?, dialect: SQLDialect) -> CompiledHostQuery {
        pageStatement(expr, mode: mode, filter: filter, after: after, limit: limit,
                      now: mode == .now ? HostPageReads.NowColumns(fields: fields) : nil, dialect: dialect)
    }

    /// The same, with the columns `page` reads its rows by (made once there, for the statement and the reads).
    static func pageStatement(_ expr: QueryExpr?, mode: HostQuerySQL.Mode, filter: HostQuerySQL.Filter, after: String?, limit: Int,
                              now: HostPageReads.NowColumns?, dialect: SQLDialect) -> CompiledHostQuery {
        HostQuerySQL.select(expr, mode: mode, after: after, limit: limit + 1, filter: filter, dialect: dialect, columns: now?.columns ?? [])
    }

    static func count(_ db: any SQLConnection, _ expr: QueryExpr?, mode: HostQuerySQL.Mode, filter: HostQuerySQL.Filter) throws -> Int {
        let compiled = HostQuerySQL.count(expr, mode: mode, filter: filter, dialect: db.dialect)
        return try db.value(compiled.sql, compiled.arguments, as: Int.self) ?? 0
    }
}
