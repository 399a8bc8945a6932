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
            // Each host's report in force and newest heartbeat at both times.
            let oneHost = hostId == nil ? "" : " WHERE h.id = ?"
            func inForce(_ alias: String) -> String {
                """
                LEFT JOIN reports \(alias) ON \(alias).id = (SELECT rx.id FROM reports rx WHERE rx.host_id = h.id AND rx.collected_at <= ?
                    AND \(RetractionSQL.counts("rx")) ORDER BY rx.collected_at DESC, rx.id DESC LIMIT 1)
                """
            }
            let beat = """
                (SELECT capreg_last_beat(b.first_at, b.times, ?) FROM heartbeats b WHERE b.host_id = h.id AND b.first_at <= ?
                 ORDER BY b.first_at DESC LIMIT 1)
                """
            var hostnames: [Int64: String] = [:]
            var presence: [PresenceChange: [Int64]] = [:]
            var kernels: [Int64: (String?, String?)] = [:]
            var both = Set<Int64>()
            var counts = (hostsFrom: 0, freshFrom: 0, hostsTo: 0, freshTo: 0)
            var arguments: [any SQLBindable] = [t1, t1, t2, t2, t1, t2]
            if let hostId { arguments.append(hostId) }
            try db.forEachRow("""
                SELECT h.id, h.hostname, r1.collected_at, r1.kernel_release, \(beat), r2.collected_at, r2.kernel_release, \(beat)
                FROM hosts h \(inForce("r1")) \(inForce("r2"))\(oneHost)
                """, arguments) { row in
                let id = row.int64(0)
                hostnames[id] = row.text(1)
                let seen1 = [row.optionalInt64(2), row.optionalInt64(4)].compactMap { $0 }.max()
                let seen2 = [row.optionalInt64(5), row.optionalInt64(7)].compactMap { $0 }.max()
                let present1 = !row.isNull(2), present2 = !row.isNull(5)
                let fresh1 = seen1.map { $0 >= t1 - stale } ?? false, fresh2 = seen2.map { $0 >= t2 - stale } ?? false
                if present1 { counts.hostsFrom += 1 }
                if present2 { counts.hostsTo += 1 }
                if present1 && fresh1 { counts.freshFrom += 1 }
                if present2 && fresh2 { counts.freshTo += 1 }
                var group: PresenceChange?
                if !present1 && present2 { group = .added } else if present1 && !present2 { group = .gone } else if present1 && present2 {
                    group = fresh1 && !fresh2 ? .stale : !fresh1 && fresh2 ? .back : nil
                }
                if let group { presence[group, default: []].append(id) }
                guard present1 && present2 else { return }
                both.insert(id)
                let k1 = row.optionalText(3), k2 = row.optionalText(6)
                if k1 != k2 { kernels[id] = (k1, k2) }
            }

            // Fact rows valid at `from` that ended by `to`, and rows valid at `to` that began after `from`:
            // every (host, name) whose value may differ (index ranges on valid_to and on valid_from).
            var sides: [DiffKey: (before: FactValue?, after: FactValue?)] = [:]
            var names: [String: String] = [:]
            func intern(_ name: String) -> String {
                if let known = names[name] { return known }
                names[name] = name
                return name
            }
            let hostFilter = hostId == nil ? "" : " AND f.host_id = ?"
            let reads: [(Int, String, [any SQLBindable])] = [
                (0, "f.valid_to > ? AND f.valid_to <= ? AND f.valid_from <= ?", [t1, t2, t1]),
                (1, "f.valid_from > ? AND f.valid_from <= ? AND f.valid_to > ?", [t1, t2, t2]),
            ]
            for (side, condition, bounds) in reads {
                let nameFilter = request.fact.map { _ in " AND f.name = ?" } ?? ""
                var arguments = bounds
                if let hostId { arguments.append(hostId) }
                if let fact = request.fact { arguments.append(fact) }
                try db.forEachRow("""
                    SELECT f.host_id, f.name, f.type, f.value_int, f.value_text FROM facts f WHERE \(condition)\(hostFilter)\(nameFilter)
                    """, arguments) { row in
                    let name = intern(row.text(1))
                    guard request.layers.contains(FactLayer.of(name)) else { return }
                    let key = DiffKey(host: row.int64(0), name: name)
                    let value = FactColumns.join(type: row.text(2), int: row.optionalInt64(3), text: row.optionalText(4))
                    var entry = sides[key] ?? (nil, nil)
                    if side == 0 { entry.before = value } else { entry.after = value }
                    sides[key] = entry
                }
            }
            var changed: [ValueMove: [Int64]] = [:]
            // A host added (or gone) between the times is listed as such, not as changes of every fact.
            for (key, values) in sides where values.before != values.after && both.contains(key.host) {
                changed[ValueMove(name: key.name, before: values.before, after: values.after), default: []].append(key.host)
            }
            if request.layers.contains(.kernel) && (request.fact == nil || request.fact == FleetDiffRequest.kernelFact) {
                for (host, (k1, k2)) in kernels {
                    changed[ValueMove(name: FleetDiffRequest.kernelFact, before: k1.map(FactValue.text), after: k2.map(FactValue.text)), default: []].append(host)
                }
            }
            func list(_ ids: [Int64]) -> HostList {
                let all = ids.compactMap { hostnames[$0] }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let after = all.filter { name in request.hostsAfter.map { $0.utf8.lexicographicallyPrecedes(name.utf8) } ?? true }
                return HostList(count: all.count, hostnames: Array(after.prefix(request.hostLimit)), moreHosts: after.count > request.hostLimit)
            }
            let changes = changed.map { key, hosts in
                FleetChange(name: key.name, layer: key.name == FleetDiffRequest.kernelFact ? .kernel : FactLayer.of(key.name),
                            change: ValueChange.of(before: key.before, after: key.after), before: key.before, after: key.after, hosts: list(hosts))
            }.sorted { Self.auditOrder(($0.layer, $0.change, $0.hosts.count, $0.name, $0.before, $0.after), ($1.layer, $1.change, $1.hosts.count, $1.name, $1.before, $1.after)) }
            return FleetDiff(hostsFrom: counts.hostsFrom, freshFrom: counts.freshFrom, hostsTo: counts.hostsTo, freshTo: counts.freshTo,
                             presence: Dictionary(uniqueKeysWithValues: PresenceChange.allCases.map { ($0, list(presence[$0] ?? [])) }),
                             changes: changes)
        }
    }

    struct DiffKey: Hashable {
        var host: Int64
        var name: String
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
