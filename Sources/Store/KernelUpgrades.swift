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

extension FactLayer {
    /// A condition that leaves out evidence rows (`column` holds the fact's name), for a read whose answer
    /// does not list them: they are about a third of the changed rows, and left in Swift they cost as much.
    static func notEvidenceSQL(_ column: String) -> String {
        "substr(\(column), 1, \(evidencePrefix.utf8.count)) <> '\(evidencePrefix)'"
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
        /// The report on the new kernel.
        var report: Int64
        var host: Int64
        var hostname = ""
        var at: Int64
        var fromRelease: String
        var toRelease: String
        var cause = ChangeCause.unknown
    }

    /// The facts each move changed, compactly (a 100,000-host fleet makes over a million of them): names and
    /// values are numbered once, and each move's changes are one run of `changes`.
    struct MoveChanges {
        var names: [String] = []
        var values: [FactValue] = []
        /// Per move, where its run of `changes` starts (and `changes.count` ends the last).
        var start: [Int] = []
        /// name, value before and after (-1: absent).
        var changes: [(name: Int32, before: Int32, after: Int32)] = []

        func of(_ move: Int) -> ArraySlice<(name: Int32, before: Int32, after: Int32)> {
            changes[start[move]..<(move + 1 < start.count ? start[move + 1] : changes.count)]
        }

        func value(_ id: Int32) -> FactValue? { id < 0 ? nil : values[Int(id)] }
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
            let (moves, changes) = try Self.storedKernelMoves(db, from: request.from, to: request.to,
                                                              evidence: request.layers.contains(.evidence))
            return Self.upgradeReport(moves, changes, request)
        }
    }

    static let maxHostLimitForAudits = KernelUpgradeRequest.maxHostLimit

    /// The moves from a kernel matching `from` to one matching `to` (as `kernel = "…"` matches, KernelVersion),
    /// with their hostnames and changes, as kernel_moves and kernel_move_changes hold them
    /// (KernelMoveSummary): both tables read once in report order and merged.
    /// `evidence` false leaves evidence changes out.
    static func storedKernelMoves(_ db: any SQLConnection, from: KernelVersion?, to: KernelVersion?,
                                  evidence: Bool) throws -> ([KernelMove], MoveChanges) {
        var releases: [String: (text: String, from: Bool, to: Bool)] = [:]  // one String per release, and whether it matches
        func release(_ text: String) -> (text: String, from: Bool, to: Bool) {
            if let known = releases[text] { return known }
            let k = KernelRelease(text)
            let entry = (text, from?.matches(k, .eq) ?? true, to?.matches(k, .eq) ?? true)
            releases[text] = entry
            return entry
        }
        var moves: [KernelMove] = []
        try db.forEachRow("SELECT report, host_id, at, from_release, to_release, cause FROM kernel_moves ORDER BY report", []) { row in
            let before = release(row.text(3)), after = release(row.text(4))
            guard before.from, after.to else { return }
            moves.append(KernelMove(report: row.int64(0), host: row.int64(1), at: row.int64(2), fromRelease: before.text, toRelease: after.text,
                                    cause: ChangeCause(rawValue: row.text(5)) ?? .unknown))
        }
        var out = MoveChanges()
        guard !moves.isEmpty else { return (moves, out) }
        var numbers = FactNumbers()
        // Both in report order: each change row belongs to the move at `next` or to one not asked for.
        var next = 0
        var counts = [Int](repeating: 0, count: moves.count)
        try db.forEachRow("""
            SELECT report, name, before_type, before_int, before_text, after_type, after_int, after_text FROM kernel_move_changes
            \(evidence ? "" : "WHERE " + FactLayer.notEvidenceSQL("name")) ORDER BY report, name
            """, []) { row in
            let report = row.int64(0)
            while next < moves.count && moves[next].report < report { next += 1 }
            guard next < moves.count, moves[next].report == report else { return }
            counts[next] += 1
            let before = row.optionalText(2).map { FactColumns.join(type: $0, int: row.optionalInt64(3), text: row.optionalText(4)) }
            let after = row.optionalText(5).map { FactColumns.join(type: $0, int: row.optionalInt64(6), text: row.optionalText(7)) }
            out.changes.append((numbers.name(row.text(1)), numbers.value(before), numbers.value(after)))
        }
        out.names = numbers.names
        out.values = numbers.values
        out.start.reserveCapacity(moves.count)
        var start = 0
        for count in counts {
            out.start.append(start)
            start += count
        }
        var hostnames: [Int64: String] = [:]
        let moving = Set(moves.map(\.host))
        try db.forEachRow("SELECT id, hostname FROM hosts", []) { row in
            if moving.contains(row.int64(0)) { hostnames[row.int64(0)] = row.text(1) }
        }
        for i in moves.indices { moves[i].hostname = hostnames[moves[i].host] ?? "" }
        return (moves, out)
    }

    /// Each counted report of `host` (nil: every host) on another kernel than the host's counted report
    /// before it, found in the covering index reports_kernel_moves (migrations/0018_audit_indexes.sql) read
    /// in (host, time) order and compared in turn (a window function over the same rows cost four times as
    /// much). For KernelMoveSummary, which keeps what the audits read.
    static func findKernelMoves(_ db: any SQLConnection, host: Int64?) throws -> [KernelMove] {
        var moves: [KernelMove] = []
        var current = Int64.min
        var previous: String?
        var texts: [String: String] = [:]  // one String per release
        try db.forEachRow("""
            SELECT r.host_id, r.collected_at, r.id, r.kernel_release FROM reports r
            WHERE \(host == nil ? "" : "r.host_id = ? AND ")\(RetractionSQL.counts("r")) ORDER BY r.host_id, r.collected_at, r.id
            """, host.map { [$0] } ?? []) { row in
            if row.int64(0) != current {
                current = row.int64(0)
                previous = nil
            }
            let text = row.text(3)
            let kernel = texts[text] ?? {
                texts[text] = text
                return text
            }()
            if let before = previous, before != kernel {
                moves.append(KernelMove(report: row.int64(2), host: current, at: row.int64(1), fromRelease: before, toRelease: kernel))
            }
            previous = kernel
        }
        return moves
    }

    /// The moves as `[[host_id, at], …]`, for jsonIntegerPairsCTE.
    static func movesJSON(_ moves: [KernelMove]) -> String {
        var out = "["
        out.reserveCapacity(moves.count * 24)
        for (i, move) in moves.enumerated() {
            if i > 0 { out += "," }
            out += "[\(move.host),\(move.at)]"
        }
        return out + "]"
    }

    /// Each move's changed facts, and its cause. The moves go to the database once, as a JSON list, for
    /// three reads: the fact rows that closed at a move (an index seek on (host_id, valid_to)), those that
    /// opened at it (on valid_from), and the register-bearing capability versions on either side (the
    /// partial index capability_versions_registers alone).
    static func readChangedFacts(_ db: any SQLConnection, _ moves: inout [KernelMove]) throws -> MoveChanges {
        var out = MoveChanges()
        guard !moves.isEmpty else {
            out.start = []
            return out
        }
        var index: [MoveKey: Int32] = [:]
        index.reserveCapacity(moves.count)
        for (i, move) in moves.enumerated() { index[MoveKey(host: move.host, at: move.at)] = Int32(i) }
        let list = db.dialect.jsonIntegerPairsCTE("m") + " "
        let json = movesJSON(moves)
        var pairs = FactPairs()
        for (side, join) in [(0, "f.host_id = m.a AND f.valid_to = m.b"), (1, "f.valid_from = m.b AND f.host_id = m.a")] {
            try db.forEachRow(list + "SELECT m.a, m.b, f.name, f.type, f.value_int, f.value_text FROM m JOIN facts f ON \(join)", [json]) { row in
                guard let move = index[MoveKey(host: row.int64(0), at: row.int64(1))] else { return }
                pairs.add(group: Int64(move), name: pairs.name(row.text(2)), after: side == 1,
                          value: FactColumns.join(type: row.text(3), int: row.optionalInt64(4), text: row.optionalText(5)))
            }
        }
        // Each move's run of changes, in move order (moves without one get an empty run).
        var next = 0
        out.start.reserveCapacity(moves.count)
        pairs.differing { move, name, before, after in
            while next <= Int(move) {
                out.start.append(out.changes.count)
                next += 1
            }
            out.changes.append((name, before, after))
        }
        while next < moves.count {
            out.start.append(out.changes.count)
            next += 1
        }
        out.names = pairs.names
        out.values = pairs.values
        // Register-bearing capability versions that closed at the move (before) and opened at it (after).
        let bearing = Self.registerCapabilitiesSQL
        var seen = [UInt8](repeating: 0, count: moves.count)
        for (side, join) in [(1, "c.host_id = m.a AND c.valid_to = m.b"), (2, "c.host_id = m.a AND c.valid_to > m.b AND c.valid_from = m.b")] {
            try db.forEachRow(list + "SELECT m.a, m.b FROM m JOIN capability_versions c ON \(join) AND \(bearing)", [json]) { row in
                guard let move = index[MoveKey(host: row.int64(0), at: row.int64(1))] else { return }
                seen[Int(move)] |= UInt8(side)
            }
        }
        let registers = out.names.map(FactLayer.isRegister)
        for i in moves.indices where seen[i] == 3 {
            let registerMoved = out.of(i).contains { registers[Int($0.name)] && $0.before >= 0 && $0.after >= 0 }
            moves[i].cause = registerMoved ? .hardware : .kernel
        }
        return out
    }

    /// Capabilities whose facts include the vendor's registers: sysfs's VT-d and AMD registers, and
    /// iommufd's hw_info (VT-d cap/ecap, SMMUv3 IDRs). Written into the SQL above as literals, as the
    /// partial index capability_versions_registers names them (a bound parameter could not use it).
    static let registerCapabilities = ["vtd-regs", "amd-efr", "iommufd-hw-info"]
    static let registerCapabilitiesSQL = "c.capability IN (" + registerCapabilities.map { "'\($0)'" }.joined(separator: ", ") + ")"

    struct MoveKey: Hashable {
        var host: Int64
        var at: Int64
    }

    /// The moves grouped by kernel pair, their changes counted.
    static func upgradeReport(_ moves: [KernelMove], _ changes: MoveChanges, _ request: KernelUpgradeRequest) -> KernelUpgradeReport {
        struct ChangeKey: Hashable {
            var name: Int32
            var before: Int32
            var after: Int32
        }
        struct Tally {
            var hosts: [Int64] = []
            var moves = 0
            var causes: [ChangeCause: Int] = [:]
            var changes: [ChangeKey: (hosts: [Int64], causes: [ChangeCause: Int])] = [:]
        }
        func label(_ release: String, _ given: KernelVersion?) -> String {
            if let given, !request.flavoursApart { return given.text }
            if request.flavoursApart { return release }
            let k = KernelRelease(release)
            return "\(k.major).\(k.minor)"
        }
        // Which names are listed: the request's layers and fact.
        let listed = changes.names.map { name in
            request.layers.contains(FactLayer.of(name)) && (request.fact == nil || request.fact == name)
        }
        var pairs: [PairKey: Tally] = [:]
        var labels: [String: String] = [:]
        var hostnames: [Int64: String] = [:]
        for (i, move) in moves.enumerated() {
            hostnames[move.host] = move.hostname
            let from = labels[move.fromRelease] ?? label(move.fromRelease, request.from)
            let to = labels["\u{1}" + move.toRelease] ?? label(move.toRelease, request.to)
            labels[move.fromRelease] = from
            labels["\u{1}" + move.toRelease] = to
            let key = PairKey(from: from, to: to)
            var tally = pairs.removeValue(forKey: key) ?? Tally()
            tally.hosts.append(move.host)
            tally.moves += 1
            tally.causes[move.cause, default: 0] += 1
            for change in changes.of(i) where listed[Int(change.name)] {
                let changeKey = ChangeKey(name: change.name, before: change.before, after: change.after)
                var entry = tally.changes.removeValue(forKey: changeKey) ?? ([], [:])
                entry.hosts.append(move.host)
                entry.causes[move.cause, default: 0] += 1
                tally.changes[changeKey] = entry
            }
            pairs[key] = tally
        }
        let out = pairs.map { key, tally -> KernelUpgradePair in
            let changeRows = tally.changes.map { change, entry -> KernelUpgradeChange in
                // A host that made the same move twice counts once.
                let hosts = HostList.of(entry.hosts, hostnames: hostnames, after: request.hostsAfter, limit: request.hostLimit)
                let name = changes.names[Int(change.name)]
                let before = changes.value(change.before), after = changes.value(change.after)
                return KernelUpgradeChange(name: name, layer: FactLayer.of(name), change: ValueChange.of(before: before, after: after),
                                           before: before, after: after, hosts: hosts.count, causes: entry.causes, hostnames: hosts.hostnames,
                                           moreHosts: hosts.moreHosts)
            }.sorted { Self.auditOrder(($0.layer, $0.change, $0.hosts, $0.name, $0.before, $0.after), ($1.layer, $1.change, $1.hosts, $1.name, $1.before, $1.after)) }
            let fromKey = KernelKey.of(KernelRelease(key.from)), toKey = KernelKey.of(KernelRelease(key.to))
            return KernelUpgradePair(from: key.from, to: key.to, isUpgrade: fromKey.utf8.lexicographicallyPrecedes(toKey.utf8),
                                     hosts: Set(tally.hosts).count, moves: tally.moves, causes: tally.causes, changes: changeRows)
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
