import Decoders
import Foundation

/// What `capreg diff` and GET /v1/audits/fleet-diff ask: the fleet (or one host) at two times.
public struct FleetDiffRequest: Sendable {
    public var from: Date
    public var to: Date
    /// A host not seen (report or heartbeat) within this long before a time is stale then.
    public var staleAfter: TimeInterval
    /// Only this host.
    public var hostname: String?
    /// Only this fact's changes (`kernel` for the kernel release).
    public var fact: String?
    public var layers: Set<FactLayer> = [.usable, .hardware, .kernel]
    public var hostLimit = 10
    public var hostsAfter: String?
    /// Compare the registry as it stood at these two revisions instead of two times (`from`/`to` ignored).
    public var fromRevision: Int64?
    public var toRevision: Int64?

    public init(from: Date, to: Date, staleAfter: TimeInterval) {
        self.from = from
        self.to = to
        self.staleAfter = staleAfter
    }

    /// The pseudo-fact a kernel change is listed under.
    public static let kernelFact = "kernel"
}

/// How a host's presence moved between the two times.
public enum PresenceChange: String, CaseIterable, Sendable {
    /// No state at the first time, a state at the second: its first report came between them.
    case added
    /// A state at the first time, none at the second. Between two times this cannot happen (a retraction
    /// removes a report from every time alike), so the group is always empty; it is kept so that the
    /// document's shape does not depend on the question.
    case gone
    /// Seen within the stale bound at the first time, not at the second: it stopped reporting.
    case stale
    /// Stale at the first time, seen again at the second.
    case back
}

/// Hosts in one presence group, or with one value change.
public struct HostList: Sendable, Hashable {
    public var count: Int
    public var hostnames: [String]
    public var moreHosts: Bool

    public static let none = HostList(count: 0, hostnames: [], moreHosts: false)

    public init(count: Int, hostnames: [String], moreHosts: Bool) {
        self.count = count
        self.hostnames = hostnames
        self.moreHosts = moreHosts
    }
}

/// One fact whose value differs between the two times on some hosts: `before` → `after` (nil: absent).
public struct FleetChange: Sendable, Hashable {
    public var name: String
    public var layer: FactLayer
    public var change: ValueChange
    public var before: FactValue?
    public var after: FactValue?
    public var hosts: HostList
}

public struct FleetDiff: Sendable, Hashable {
    /// The two times compared: the request's, or the two revisions' write times.
    public var from: Date
    public var to: Date
    /// The two revisions compared, when the request named revisions.
    public var fromRevision: Int64?
    public var toRevision: Int64?
    /// Hosts with a state at each time, and of them fresh (seen within the stale bound).
    public var hostsFrom: Int
    public var freshFrom: Int
    public var hostsTo: Int
    public var freshTo: Int
    public var presence: [PresenceChange: HostList]
    /// Counts first: most hosts first, within usable, hardware, kernel, evidence (the kernel release is in the kernel layer).
    public var changes: [FleetChange]
}

extension Registry {
    /// The fleet (or one host) at `from` and at `to` as the registry knows them now (docs/audits.md).
    public func fleetDiff(_ request: FleetDiffRequest) throws -> FleetDiff {
        if request.fromRevision != nil || request.toRevision != nil {
            guard let r1 = request.fromRevision else { throw AuditRequestError(parameter: "from_revision", message: "required with to_revision") }
            guard let r2 = request.toRevision else { throw AuditRequestError(parameter: "to_revision", message: "required with from_revision") }
            return try fleetDiff(request, fromRevision: r1, toRevision: r2)
        }
        guard request.from <= request.to else {
            throw AuditRequestError(parameter: "from", message: "must not be after to")
        }
        if let fact = request.fact, fact != FleetDiffRequest.kernelFact, Vocabulary.entry(fact) == nil {
            throw AuditRequestError(parameter: "fact", message: "\(fact.prefix(80)) is not a host fact of the vocabulary (capreg vocabulary), nor `kernel`")
        }
        guard (0...Self.maxHostLimitForAudits).contains(request.hostLimit) else {
            throw AuditRequestError(parameter: "host_limit", message: "0 to \(Self.maxHostLimitForAudits)")
        }
        let t1 = StoreTime.ms(request.from), t2 = StoreTime.ms(request.to)
        let stale = Int64(request.staleAfter * 1000)
        return try budgetedRead { db in
            var hostId: Int64?
            if let name = request.hostname {
                guard StoreText.bindable(name), let id = try db.value("SELECT id FROM hosts WHERE hostname = ?", [name], as: Int64.self) else {
                    throw FleetDiffNoSuchHost(hostname: name)
                }
                hostId = id
            }
            let oneHost = hostId.map { " AND host_id = \($0)" } ?? ""
            var hostnames: [Int64: String] = [:]
            try db.forEachRow("SELECT id, hostname FROM hosts" + (hostId.map { " WHERE id = \($0)" } ?? ""), []) { row in
                hostnames[row.int64(0)] = row.text(1)
            }
            // Each host's report in force at both times (its time and kernel), in one pass over the covering
            // index reports_kernel_moves in (host, time) order, a host at a time, retracted ones skipped; then
            // its newest heartbeat at both times.
            struct Seen {
                var report1: Int64?, kernel1: String?, report2: Int64?, kernel2: String?
                var beat1: Int64?, beat2: Int64?
                /// Present at `from`, and a report between the times: only such a host's facts can differ.
                var reportBetween = false
            }
            var seen: [Int64: Seen] = [:]
            let retracted = try RetractedReports(db)
            var host = Int64.min, s = Seen()
            try db.forEachRow("""
                SELECT r.host_id, r.collected_at, r.id, r.confirms, r.kernel_release FROM reports r
                WHERE r.collected_at <= ?\(oneHost.replacingOccurrences(of: "host_id", with: "r.host_id")) ORDER BY r.host_id, r.collected_at, r.id
                """, [t2]) { row in
                if retracted.contains(row.int64(2), confirms: row.optionalInt64(3)) { return }
                if row.int64(0) != host {
                    if host != Int64.min { seen[host] = s }
                    host = row.int64(0)
                    s = Seen()
                }
                let at = row.int64(1), kernel = row.text(4)
                if at <= t1 {
                    s.report1 = at
                    s.kernel1 = kernel
                } else if s.report1 != nil {
                    s.reportBetween = true
                }
                s.report2 = at
                s.kernel2 = kernel
            }
            if host != Int64.min { seen[host] = s }
            // A heartbeat matters only to a host present at a time whose report then is stale: most hosts' are
            // not at `from`. A row whose last heartbeat is at or before the time needs no search of its times
            // (most rows, at `to`), nor one whose first is after it. Every row is read, in table order: through
            // the index on first_at (every row, when `to` is recent) it took 25 times as long on the
            // 100,000-host fleet.
            try db.forEachRow("SELECT host_id, first_at, last_at, times FROM heartbeats\(hostId.map { " WHERE host_id = \($0)" } ?? "")", []) { row in
                guard var s = seen[row.int64(0)] else { return }
                let first = row.int64(1), last = row.int64(2)
                func beat(_ t: Int64) -> Int64? {
                    last <= t ? last : first > t ? nil : Heartbeats.lastBeat(firstAt: first, Data(row.blob(3)), atOrBefore: t)
                }
                if let report = s.report1, report < t1 - stale, let beat = beat(t1) { s.beat1 = max(s.beat1 ?? beat, beat) }
                if let report = s.report2, report < t2 - stale, let beat = beat(t2) { s.beat2 = max(s.beat2 ?? beat, beat) }
                seen[row.int64(0)] = s
            }
            var presence: [PresenceChange: [Int64]] = [:]
            var counts = (hostsFrom: 0, freshFrom: 0, hostsTo: 0, freshTo: 0)
            var changed: [ValueMove: [Int64]] = [:]
            let kernelLayer = request.layers.contains(.kernel) && (request.fact == nil || request.fact == FleetDiffRequest.kernelFact)
            for (id, s) in seen {
                let present1 = s.report1 != nil, present2 = s.report2 != nil
                let seen1 = [s.report1, s.beat1].compactMap { $0 }.max(), seen2 = [s.report2, s.beat2].compactMap { $0 }.max()
                let fresh1 = seen1.map { $0 >= t1 - stale } ?? false, fresh2 = seen2.map { $0 >= t2 - stale } ?? false
                if present1 { counts.hostsFrom += 1 }
                if present2 { counts.hostsTo += 1 }
                if present1 && fresh1 { counts.freshFrom += 1 }
                if present2 && fresh2 { counts.freshTo += 1 }
                if !present1 && present2 { presence[.added, default: []].append(id) }
                if present1 && !present2 { presence[.gone, default: []].append(id) }
                guard present1 && present2 else { continue }
                if fresh1 && !fresh2 { presence[.stale, default: []].append(id) }
                if !fresh1 && fresh2 { presence[.back, default: []].append(id) }
                if kernelLayer && s.kernel1 != s.kernel2 {
                    changed[ValueMove(name: FleetDiffRequest.kernelFact, before: s.kernel1.map(FactValue.text), after: s.kernel2.map(FactValue.text)),
                            default: []].append(id)
                }
            }

            // Fact rows valid at `from` that ended by `to` (before), and rows valid at `to` that began after
            // `from` (after): every (host, name) whose value may differ. Facts change only at a report's time,
            // so only hosts present at `from` with a report between the times count (a host added between them
            // is listed as added, not as a change of each of its facts). Before: those hosts' ranges of the
            // (host_id, valid_to) index, which skip the rest of the fleet (0.45 s against 0.68 s for the range of
            // valid_to on the 100,000-host fleet). After: the range of valid_from, other hosts' rows skipped
            // here (a host's range of valid_to after `to` holds every fact still open, and read 6 million index
            // entries where this reads 1.3 million rows). Names and values are numbered, and the rows sorted by
            // (host, name, side) pair up before and after.
            var pairs = FactPairs()
            var listed: [Bool] = []
            let between = Set(seen.compactMap { $0.value.reportBetween ? $0.key : nil })
            let hostsJSON = "[" + between.sorted().map { "[\($0),0]" }.joined(separator: ",") + "]"
            let nameFilter = (request.fact.map { _ in " AND f.name = ?" } ?? "")
                + (request.layers.contains(.evidence) ? "" : " AND " + FactLayer.notEvidenceSQL("f.name"))
            let before = db.dialect.jsonIntegerPairsCTE("m") + """
                 SELECT f.host_id, f.name, f.type, f.value_int, f.value_text FROM m
                JOIN facts f ON f.host_id = m.a AND f.valid_to > ? AND f.valid_to <= ? AND f.valid_from <= ?\(nameFilter)
                """
            let after = """
                SELECT f.host_id, f.name, f.type, f.value_int, f.value_text FROM facts f
                WHERE f.valid_from > ? AND f.valid_from <= ? AND f.valid_to > ?\(oneHost.replacingOccurrences(of: "host_id", with: "f.host_id"))\(nameFilter)
                """
            for (side, sql, arguments) in [(0, before, [hostsJSON, t1, t2, t1] as [any SQLBindable]), (1, after, [t1, t2, t2])] where !between.isEmpty {
                try db.forEachRow(sql, arguments + (request.fact.map { [$0] } ?? [])) { row in
                    let host = row.int64(0)
                    guard between.contains(host) else { return }
                    let name = pairs.name(row.text(1))
                    if Int(name) == listed.count { listed.append(request.layers.contains(FactLayer.of(pairs.names[Int(name)]))) }
                    guard listed[Int(name)] else { return }
                    pairs.add(group: host, name: name, after: side == 1,
                              value: FactColumns.join(type: row.text(2), int: row.optionalInt64(3), text: row.optionalText(4)))
                }
            }
            let (names, values) = (pairs.names, pairs.values)
            pairs.differing { host, name, before, after in
                changed[ValueMove(name: names[Int(name)], before: before < 0 ? nil : values[Int(before)],
                                  after: after < 0 ? nil : values[Int(after)]), default: []].append(host)
            }
            func list(_ ids: [Int64]) -> HostList { HostList.of(ids, hostnames: hostnames, after: request.hostsAfter, limit: request.hostLimit) }
            let changes = Self.fleetChanges(changed, list)
            return FleetDiff(from: request.from, to: request.to, hostsFrom: counts.hostsFrom, freshFrom: counts.freshFrom, hostsTo: counts.hostsTo, freshTo: counts.freshTo,
                             presence: Dictionary(uniqueKeysWithValues: PresenceChange.allCases.map { ($0, list(presence[$0] ?? [])) }),
                             changes: changes)
        }
    }

    /// The value changes as listed, in the audits' order; the kernel release is the kernel layer's.
    static func fleetChanges(_ changed: [ValueMove: [Int64]], _ list: ([Int64]) -> HostList) -> [FleetChange] {
        changed.map { key, hosts in
            FleetChange(name: key.name, layer: key.name == FleetDiffRequest.kernelFact ? .kernel : FactLayer.of(key.name),
                        change: ValueChange.of(before: key.before, after: key.after), before: key.before, after: key.after, hosts: list(hosts))
        }.sorted { auditOrder(($0.layer, $0.change, $0.hosts.count, $0.name, $0.before, $0.after), ($1.layer, $1.change, $1.hosts.count, $1.name, $1.before, $1.after)) }
    }

    struct ValueMove: Hashable {
        var name: String
        var before: FactValue?
        var after: FactValue?
    }
}

/// `--host` names no host the registry knows.
public struct FleetDiffNoSuchHost: Error, Sendable {
    public var hostname: String
}

extension HostList {
    /// The hosts `ids` name (each once) as a list: their count, and the first `limit` hostnames in byte
    /// order after `after`. Picks those few without sorting every name (a change can name 50,000 hosts).
    static func of<S: Sequence>(_ ids: S, hostnames: [Int64: String], after: String?, limit: Int) -> HostList where S.Element == Int64 {
        let unique = Set(ids)
        func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
        var first: [String] = []  // sorted, at most limit + 1
        var following = 0
        for id in unique {
            guard let name = hostnames[id], after.map({ precedes($0, name) }) ?? true else { continue }
            following += 1
            guard first.count <= limit || precedes(name, first[first.count - 1]) else { continue }
            let at = first.firstIndex { precedes(name, $0) } ?? first.count
            first.insert(name, at: at)
            if first.count > limit + 1 { first.removeLast() }
        }
        return HostList(count: unique.count, hostnames: Array(first.prefix(limit)), moreHosts: following > limit)
    }
}
