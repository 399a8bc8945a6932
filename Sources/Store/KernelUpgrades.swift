import Decoders
import Foundation
import Query

/// What `capreg audit kernel-upgrade` and GET /v1/audits/kernel-upgrades ask.
public struct KernelUpgradeRequest: Sendable {
    /// Only moves from a kernel matching this version (a series such as "6.6", or one release); nil: any.
    public var from: KernelVersion?
    /// Only moves to a kernel matching this version; nil: any.
    public var to: KernelVersion?
    /// Releases of one series count as one kernel ("6.6"), or each release is its own ("6.6.0-1-generic").
    public var flavoursApart = false
    /// The layers whose changes are listed (evidence is words, left out unless asked for).
    public var layers: Set<FactLayer> = [.usable, .hardware, .kernel]
    /// Only this fact's changes.
    public var fact: String?
    /// Hostnames listed per change, in byte order (the count is always whole).
    public var hostLimit = 10
    /// Each change's host list starts after this hostname: the next page of `hosts`.
    public var hostsAfter: String?

    public static let maxHostLimit = 1000

    public init(from: KernelVersion? = nil, to: KernelVersion? = nil) {
        self.from = from
        self.to = to
    }
}

/// Whose doing a change was: the kernel's (the host's registers read the same before and after the
/// move), the hardware's (a register read differently), or not known (registers not reported on both sides).
public enum ChangeCause: String, CaseIterable, Sendable {
    case kernel, hardware, unknown
}

/// How a fact's value moved: a capability appeared, went, or changed value (both sides present).
public enum ValueChange: String, CaseIterable, Sendable {
    case lost, gained, changed

    /// `true`, a positive number and any text but `none` count as having the capability; false, 0,
    /// `none` and absent as not having it.
    static func of(before: FactValue?, after: FactValue?) -> ValueChange {
        switch (has(before), has(after)) {
        case (true, false): return .lost
        case (false, true): return .gained
        default: return .changed
        }
    }

    static func has(_ value: FactValue?) -> Bool {
        switch value {
        case .bool(let b)?: return b
        case .int(let n)?: return n > 0
        case .text(let t)?: return !t.isEmpty && t != CrossVendor.Format.none
        case nil: return false
        }
    }
}

/// One fact's move on the hosts that made one kernel move: `before` → `after` (nil: absent).
public struct KernelUpgradeChange: Sendable, Hashable {
    public var name: String
    public var layer: FactLayer
    public var change: ValueChange
    public var before: FactValue?
    public var after: FactValue?
    /// Hosts whose move changed the fact so.
    public var hosts: Int
    public var causes: [ChangeCause: Int]
    /// The first `hostLimit` of them (after `hostsAfter`), hostnames in byte order.
    public var hostnames: [String]
    /// More hostnames follow the last of `hostnames`.
    public var moreHosts: Bool
}

/// Hosts that moved from one kernel to another, and what changed on them.
public struct KernelUpgradePair: Sendable, Hashable {
    public var from: String
    public var to: String
    /// `to` sorts after `from` as a version.
    public var isUpgrade: Bool
    /// Distinct hosts that made the move, and the moves (a host may move, go back and move again).
    public var hosts: Int
    public var moves: Int
    /// Moves by cause: did the host's registers read the same on both sides?
    public var causes: [ChangeCause: Int]
    public var changes: [KernelUpgradeChange]
}

public struct KernelUpgradeReport: Sendable, Hashable {
    public var pairs: [KernelUpgradePair]
    /// Kernel moves that matched `from` and `to`.
    public var moves: Int
}

/// The bad part of an audit's request (kernel upgrades, prediction, fleet diff, timeline): the parameter, and why.
public struct AuditRequestError: Error, Sendable, Hashable {
    public var parameter: String
    public var message: String
}

extension Registry {
    /// A kernel move: a host's report on another kernel than its report before it (stored reports in
    /// collected order, retracted ones left out; unchanged reports are heartbeats, so every kernel change
    /// is a stored report). At `at` the facts that changed close and their new values open (IntervalSplice).
    struct KernelMove {
        var host: Int64
        var hostname: String
        var at: Int64
        var fromRelease: String
        var toRelease: String
        var cause = ChangeCause.unknown
        /// Facts that closed at `at` (their values before) and opened at `at` (after): the changed ones.
        var before: [String: FactValue] = [:]
        var after: [String: FactValue] = [:]
    }

    /// What kernel moves changed on the hosts that made them, pair by pair (docs/audits.md).
    public func kernelUpgrades(_ request: KernelUpgradeRequest) throws -> KernelUpgradeReport {
        if let fact = request.fact, Vocabulary.entry(fact) == nil {
            throw AuditRequestError(parameter: "fact", message: "\(fact.prefix(80)) is not a host fact of the vocabulary (capreg vocabulary)")
        }
        guard (0...Self.maxHostLimitForAudits).contains(request.hostLimit) else {
            throw AuditRequestError(parameter: "host_limit", message: "0 to \(Self.maxHostLimitForAudits)")
        }
        return try budgetedRead { db in
            var moves = try Self.kernelMoves(db, from: request.from, to: request.to)
            try Self.readChangedFacts(db, &moves, from: request.from, to: request.to)
            return Self.upgradeReport(moves, request)
        }
    }

    static let maxHostLimitForAudits = KernelUpgradeRequest.maxHostLimit

    /// The moves CTE: each counted report with the kernel of the host's counted report before it.
    /// `from`/`to` filter on the version-ordered keys as `kernel = "…"` does (HostQuerySQL.kernelPattern).
    static func movesCTE(from: KernelVersion?, to: KernelVersion?) -> (sql: String, arguments: [any SQLBindable]) {
        var arguments: [any SQLBindable] = []
        func match(_ column: String, _ version: KernelVersion?) -> String {
            guard let version else { return "" }
            let (key, length) = HostQuerySQL.kernelPattern(version)
            arguments.append(key)
            return " AND " + (length == 0 ? column : "substr(\(column), 1, \(length))") + " = ?"
        }
        let filters = match("o.prev_key", from) + match("o.kernel_key", to)
        let sql = """
            WITH ordered AS (
                SELECT r.host_id, r.collected_at, r.kernel_release, r.kernel_key,
                       LAG(r.kernel_release) OVER w AS prev_release, LAG(r.kernel_key) OVER w AS prev_key
                FROM reports r WHERE \(RetractionSQL.counts("r"))
                WINDOW w AS (PARTITION BY r.host_id ORDER BY r.collected_at, r.id)
            ), moves AS (
                SELECT o.host_id, o.collected_at AS at, o.prev_release, o.kernel_release FROM ordered o
                WHERE o.prev_release IS NOT NULL AND o.prev_release <> o.kernel_release\(filters)
            )
            """
        return (sql, arguments)
    }

    static func kernelMoves(_ db: any SQLConnection, from: KernelVersion?, to: KernelVersion?) throws -> [KernelMove] {
        let cte = movesCTE(from: from, to: to)
        var moves: [KernelMove] = []
        try db.forEachRow(cte.sql + """
             SELECT m.host_id, h.hostname, m.at, m.prev_release, m.kernel_release FROM moves m JOIN hosts h ON h.id = m.host_id
            """, cte.arguments) { row in
            moves.append(KernelMove(host: row.int64(0), hostname: row.text(1), at: row.int64(2), fromRelease: row.text(3), toRelease: row.text(4)))
        }
        return moves
    }

    /// Fills each move's changed facts and its cause. Three reads over the same moves: the fact rows that
    /// closed at the move (an index seek on (host_id, valid_to)), those that opened at it (on valid_from),
    /// and whether register-bearing capabilities were reported on both sides.
    static func readChangedFacts(_ db: any SQLConnection, _ moves: inout [KernelMove], from: KernelVersion?, to: KernelVersion?) throws {
        guard !moves.isEmpty else { return }
        var index: [MoveKey: Int] = [:]
        index.reserveCapacity(moves.count)
        for (i, move) in moves.enumerated() { index[MoveKey(host: move.host, at: move.at)] = i }
        let cte = movesCTE(from: from, to: to)
        var names: [String: String] = [:]  // one String per name, shared by every move
        func intern(_ name: String) -> String {
            if let known = names[name] { return known }
            names[name] = name
            return name
        }
        for (side, join) in [(0, "f.host_id = m.host_id AND f.valid_to = m.at"), (1, "f.valid_from = m.at AND f.host_id = m.host_id")] {
            try db.forEachRow(cte.sql + """
                 SELECT m.host_id, m.at, f.name, f.type, f.value_int, f.value_text FROM moves m JOIN facts f ON \(join)
                """, cte.arguments) { row in
                guard let i = index[MoveKey(host: row.int64(0), at: row.int64(1))] else { return }
                let value = FactColumns.join(type: row.text(3), int: row.optionalInt64(4), text: row.optionalText(5))
                if side == 0 { moves[i].before[intern(row.text(2))] = value } else { moves[i].after[intern(row.text(2))] = value }
            }
        }
        // Capabilities that carry the vendor's registers, closed at the move (before) and opened at it (after).
        let bearing = Self.registerCapabilities.map { "'\($0)'" }.joined(separator: ", ")
        var sides: [MoveKey: (before: Bool, after: Bool)] = [:]
        for (side, join) in [(0, "c.host_id = m.host_id AND c.valid_to = m.at"),
                             (1, "c.host_id = m.host_id AND c.valid_to > m.at AND c.valid_from = m.at")] {
            try db.forEachRow(cte.sql + """
                 SELECT DISTINCT m.host_id, m.at FROM moves m JOIN capability_versions c ON \(join) AND c.capability IN (\(bearing))
                """, cte.arguments) { row in
                let key = MoveKey(host: row.int64(0), at: row.int64(1))
                var seen = sides[key] ?? (false, false)
                if side == 0 { seen.before = true } else { seen.after = true }
                sides[key] = seen
            }
        }
        for i in moves.indices {
            guard let seen = sides[MoveKey(host: moves[i].host, at: moves[i].at)], seen.before && seen.after else { continue }
            let registerMoved = moves[i].before.contains { name, value in
                FactLayer.isRegister(name) && moves[i].after[name].map { $0 != value } == true
            }
            moves[i].cause = registerMoved ? .hardware : .kernel
        }
    }

    /// Capabilities whose facts include the vendor's registers: sysfs's VT-d and AMD registers, and
    /// iommufd's hw_info (VT-d cap/ecap, SMMUv3 IDRs).
    static let registerCapabilities = ["vtd-regs", "amd-efr", "iommufd-hw-info"]

    struct MoveKey: Hashable {
        var host: Int64
        var at: Int64
    }

    /// The moves grouped by kernel pair, their changes counted.
    static func upgradeReport(_ moves: [KernelMove], _ request: KernelUpgradeRequest) -> KernelUpgradeReport {
        struct ChangeKey: Hashable {
            var name: String
            var before: FactValue?
            var after: FactValue?
        }
        struct Tally {
            var hosts: Set<Int64> = []
            var moves = 0
            var causes: [ChangeCause: Int] = [:]
            var changes: [ChangeKey: (hosts: Set<Int64>, causes: [ChangeCause: Int])] = [:]
        }
        func label(_ release: String, _ given: KernelVersion?) -> String {
            if let given, !request.flavoursApart { return given.text }
            if request.flavoursApart { return release }
            let k = KernelRelease(release)
            return "\(k.major).\(k.minor)"
        }
        var pairs: [PairKey: Tally] = [:]
        var hostnames: [Int64: String] = [:]
        for move in moves {
            hostnames[move.host] = move.hostname
            let key = PairKey(from: label(move.fromRelease, request.from), to: label(move.toRelease, request.to))
            var tally = pairs[key] ?? Tally()
            tally.hosts.insert(move.host)
            tally.moves += 1
            tally.causes[move.cause, default: 0] += 1
            for name in Set(move.before.keys).union(move.after.keys) {
                if let fact = request.fact, name != fact { continue }
                guard request.layers.contains(FactLayer.of(name)) else { continue }
                let before = move.before[name], after = move.after[name]
                guard before != after else { continue }
                let change = ChangeKey(name: name, before: before, after: after)
                var entry = tally.changes[change] ?? ([], [:])
                // A host that made the same move twice counts once, under its last move's cause.
                entry.hosts.insert(move.host)
                entry.causes[move.cause, default: 0] += 1
                tally.changes[change] = entry
            }
            pairs[key] = tally
        }
        let out = pairs.map { key, tally -> KernelUpgradePair in
            let changes = tally.changes.map { change, entry -> KernelUpgradeChange in
                var listed = entry.hosts.compactMap { hostnames[$0] }
                    .filter { name in request.hostsAfter.map { $0.utf8.lexicographicallyPrecedes(name.utf8) } ?? true }
                    .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let more = listed.count > request.hostLimit
                listed = Array(listed.prefix(request.hostLimit))
                return KernelUpgradeChange(name: change.name, layer: FactLayer.of(change.name),
                                           change: ValueChange.of(before: change.before, after: change.after),
                                           before: change.before, after: change.after, hosts: entry.hosts.count,
                                           causes: entry.causes, hostnames: listed, moreHosts: more)
            }.sorted { Self.auditOrder(($0.layer, $0.change, $0.hosts, $0.name, $0.before, $0.after), ($1.layer, $1.change, $1.hosts, $1.name, $1.before, $1.after)) }
            let fromKey = KernelKey.of(KernelRelease(key.from)), toKey = KernelKey.of(KernelRelease(key.to))
            return KernelUpgradePair(from: key.from, to: key.to, isUpgrade: fromKey.utf8.lexicographicallyPrecedes(toKey.utf8),
                                     hosts: tally.hosts.count, moves: tally.moves, causes: tally.causes, changes: changes)
        }.sorted { a, b in
            let ka = (KernelKey.of(KernelRelease(a.from)), KernelKey.of(KernelRelease(a.to)))
            let kb = (KernelKey.of(KernelRelease(b.from)), KernelKey.of(KernelRelease(b.to)))
            return ka != kb ? ka < kb : (a.from, a.to) < (b.from, b.to)
        }
        return KernelUpgradeReport(pairs: out, moves: moves.count)
    }

    struct PairKey: Hashable {
        var from: String
        var to: String
    }

    /// Usable first, then hardware, kernel, evidence; within a layer losses first, then gains, then other
    /// changes; then the most hosts; then by name and values. Kernel upgrades and the fleet diff list alike.
    static func auditOrder(_ a: (layer: FactLayer, change: ValueChange, hosts: Int, name: String, before: FactValue?, after: FactValue?),
                           _ b: (layer: FactLayer, change: ValueChange, hosts: Int, name: String, before: FactValue?, after: FactValue?)) -> Bool {
        let layers = FactLayer.allCases, kinds = ValueChange.allCases
        let x = (layers.firstIndex(of: a.layer)!, kinds.firstIndex(of: a.change)!, -a.hosts)
        let y = (layers.firstIndex(of: b.layer)!, kinds.firstIndex(of: b.change)!, -b.hosts)
        if x != y { return x < y }
        if a.name != b.name { return a.name < b.name }
        return (a.before?.description ?? "", a.after?.description ?? "") < (b.before?.description ?? "", b.after?.description ?? "")
    }
}
