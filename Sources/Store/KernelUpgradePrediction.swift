import Decoders
import Foundation
import Query

/// What `capreg audit predict` and GET /v1/audits/kernel-upgrades/predict ask: before rolling `to` out,
/// which hosts not yet on it share hardware with hosts that lost a capability moving to it.
public struct UpgradePredictionRequest: Sendable {
    public var to: KernelVersion
    /// Only losses on moves from a kernel matching this version.
    public var from: KernelVersion?
    /// The layers whose losses count (default: what a VM can get).
    public var layers: Set<FactLayer> = [.usable]
    /// Hostnames listed per hardware class, in byte order, after `hostsAfter`.
    public var hostLimit = 10
    public var hostsAfter: String?

    public init(to: KernelVersion) { self.to = to }
}

/// Hosts with one hardware: equal vendor and whole registers (FactLayer.hardwareIdentityNames), named by the
/// first 12 hex digits of the SHA-256 of those facts as `name=value` lines in name order.
public struct HardwareClass: Sendable, Hashable {
    public var id: String
    public var vendor: String?
    /// Hosts of this hardware that lost a capability moving to the kernel, and what they lost.
    public var losers: Int
    public var lost: [String]
    /// Hosts of this hardware on an older kernel now: they would likely lose the same.
    public var candidates: Int
    public var hostnames: [String]
    public var moreHosts: Bool
}

public struct UpgradePrediction: Sendable, Hashable {
    /// Hosts that lost a capability moving to the kernel.
    public var losers: Int
    /// Of them, hosts whose registers were not reported before the move: no hardware to compare.
    public var losersWithoutRegisters: Int
    public var classes: [HardwareClass]
    /// Hosts on an older kernel that share hardware with a loser (the sum over classes).
    public var candidates: Int
}

extension Registry {
    public func predictUpgrade(_ request: UpgradePredictionRequest) throws -> UpgradePrediction {
        guard (0...Self.maxHostLimitForAudits).contains(request.hostLimit) else {
            throw AuditRequestError(parameter: "host_limit", message: "0 to \(Self.maxHostLimitForAudits)")
        }
        return try budgetedRead { db in
            let (moves, changes) = try Self.storedKernelMoves(db, from: request.from, to: request.to,
                                                              evidence: request.layers.contains(.evidence))
            // Each loser's lost names, by host, and the moves on which they lost them.
            var lostBy: [Int64: Set<String>] = [:]
            var losing: [KernelMove] = []
            for (i, move) in moves.enumerated() {
                let lost = changes.of(i).compactMap { change -> String? in
                    let name = changes.names[Int(change.name)]
                    guard request.layers.contains(FactLayer.of(name)),
                          ValueChange.of(before: changes.value(change.before), after: changes.value(change.after)) == .lost else { return nil }
                    return name
                }
                if !lost.isEmpty {
                    lostBy[move.host, default: []].formUnion(lost)
                    losing.append(move)
                }
            }
            guard !lostBy.isEmpty else { return UpgradePrediction(losers: 0, losersWithoutRegisters: 0, classes: [], candidates: 0) }

            // Losers' hardware just before their move: the register facts valid then.
            let identity = Set(FactLayer.hardwareIdentityNames)
            var before: [Int64: [String: FactValue]] = [:]
            try db.forEachRow(db.dialect.jsonIntegerPairsCTE("m") + """
                 SELECT m.a, f.name, f.type, f.value_int, f.value_text FROM m
                JOIN facts f ON f.host_id = m.a AND f.valid_to >= m.b AND f.valid_from < m.b
                """, [Self.movesJSON(losing)]) { row in
                let name = row.text(1)
                guard identity.contains(name) else { return }
                before[row.int64(0), default: [:]][name] = FactColumns.join(type: row.text(2), int: row.optionalInt64(3), text: row.optionalText(4))
            }
            var classes: [String: (vendor: String?, losers: Int, lost: Set<String>)] = [:]
            var withoutRegisters = 0
            for (host, lost) in lostBy {
                guard let facts = before[host].map({ Array($0).map { ($0.key, $0.value) } }), facts.contains(where: { FactLayer.isRegister($0.0) }) else {
                    withoutRegisters += 1
                    continue
                }
                let signature = Self.hardwareSignature(facts)
                var entry = classes[signature.id] ?? (signature.vendor, 0, [])
                entry.losers += 1
                entry.lost.formUnion(lost)
                classes[signature.id] = entry
            }

            // Hosts on an older kernel now (below the series, or the release, being rolled out), with their current hardware.
            // The names as literals: each is an index range of current_facts_name_text (a bound list is not).
            let literals = FactLayer.hardwareIdentityNames.map { "'\($0)'" }.joined(separator: ", ")
            var current: [Int64: (hostname: String, facts: [(String, FactValue)])] = [:]
            try db.forEachRow("""
                SELECT h.id, h.hostname, c.name, c.type, c.value_int, c.value_text FROM hosts h JOIN current_facts c ON c.host_id = h.id
                WHERE c.name IN (\(literals)) AND h.kernel_key < ?
                """, [KernelKey.of(request.to.lower)]) { row in
                let host = row.int64(0)
                if current[host] == nil { current[host] = (row.text(1), []) }
                current[host]!.facts.append((row.text(2), FactColumns.join(type: row.text(3), int: row.optionalInt64(4), text: row.optionalText(5))))
            }
            var candidates: [String: [Int64]] = [:]
            var names: [Int64: String] = [:]
            for (host, seen) in current where seen.facts.contains(where: { FactLayer.isRegister($0.0) }) {
                let id = Self.hardwareSignature(seen.facts).id
                if classes[id] != nil {
                    candidates[id, default: []].append(host)
                    names[host] = seen.hostname
                }
            }
            let out = classes.map { id, entry -> HardwareClass in
                let list = HostList.of(candidates[id] ?? [], hostnames: names, after: request.hostsAfter, limit: request.hostLimit)
                return HardwareClass(id: id, vendor: entry.vendor, losers: entry.losers, lost: entry.lost.sorted(), candidates: list.count,
                                     hostnames: list.hostnames, moreHosts: list.moreHosts)
            }.sorted { ($0.candidates, $0.losers, $1.id) > ($1.candidates, $1.losers, $0.id) }
            return UpgradePrediction(losers: lostBy.count, losersWithoutRegisters: withoutRegisters, classes: out,
                                     candidates: out.reduce(0) { $0 + $1.candidates })
        }
    }

    /// A hardware class's id: the identity facts (vendor, whole registers) as `name=value` lines in name order, hashed.
    static func hardwareSignature(_ facts: [(String, FactValue)]) -> (id: String, vendor: String?) {
        let sorted = facts.sorted { $0.0 < $1.0 }
        let text = sorted.map { "\($0.0)=\($0.1)\n" }.joined()
        let vendor = sorted.first { $0.0 == CrossVendor.vendor }.map { $0.1.description }
        return (String(SHA256.hex(text).prefix(12)), vendor)
    }
}
