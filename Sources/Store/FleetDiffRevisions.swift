import Decoders
import Foundation

extension Registry {
    /// The fleet (or one host) as the registry knew it at revision `from` and at revision `to`
    /// (`capreg diff --revision R1 --revision R2`): each host's state as answers at that revision read it
    /// (facts_superseded included, so a later redecode or retraction does not change it). Hosts are walked
    /// at both revisions in hostname order, a page at a time, and merged; presence is `added` (no state at
    /// R1) or `gone` (none at R2: its reports retracted between); heartbeats make no revision, so there is
    /// no `stale` or `back` between revisions. `request.from`/`to` are ignored; the answer's are the
    /// revisions' write times (FleetDiff.from, .to).
    func fleetDiff(_ request: FleetDiffRequest, fromRevision r1: Int64, toRevision r2: Int64,
                   readOneByOneUpTo limit: Int = revisionDiffHostsReadOneByOne) throws -> FleetDiff {
        guard r1 >= 1 else { throw AuditRequestError(parameter: "from_revision", message: "a revision is a whole number from 1") }
        guard r1 <= r2 else { throw AuditRequestError(parameter: "from_revision", message: "must not be after to_revision") }
        guard (0...Self.maxHostLimitForAudits).contains(request.hostLimit) else {
            throw AuditRequestError(parameter: "host_limit", message: "0 to \(Self.maxHostLimitForAudits)")
        }
        if let fact = request.fact, fact != FleetDiffRequest.kernelFact, Vocabulary.entry(fact) == nil {
            throw AuditRequestError(parameter: "fact", message: "\(fact.prefix(80)) is not a host fact of the vocabulary (capreg vocabulary), nor `kernel`")
        }
        let (t1, t2) = try budgetedRead { db -> (Int64?, Int64?) in (try Self.revisionTime(db, r1), try Self.revisionTime(db, r2)) }
        guard let t1 else { throw AuditRequestError(parameter: "from_revision", message: "no revision \(r1) in this registry") }
        guard let t2 else { throw AuditRequestError(parameter: "to_revision", message: "no revision \(r2) in this registry") }
        if let name = request.hostname, try currentState(hostname: name) == nil { throw FleetDiffNoSuchHost(hostname: name) }

        let fields: Set<String>? = request.fact.map { $0 == FleetDiffRequest.kernelFact ? [] : [$0] }
        // Only hosts that a write between the revisions touched can differ: a report stored (its id is its
        // revision), one retracted, or a redecode that rewrote their facts. When they are few, only they are
        // read at both revisions, and the hosts with a state at each revision are counted, not walked.
        var only: [String]?
        var present: (Int, Int)?
        if request.hostname == nil {
            let (touched, counts) = try budgetedRead { db -> ([String], (Int, Int)) in
                let names = try db.values("""
                    SELECT hostname FROM hosts WHERE id IN (
                        SELECT host_id FROM reports WHERE id > ? AND id <= ?
                        UNION SELECT r.host_id FROM retractions x JOIN reports r ON r.id = x.report WHERE x.revision > ? AND x.revision <= ?
                        UNION SELECT host_id FROM facts_superseded WHERE revision > ? AND revision <= ?)
                    """, [r1, r2, r1, r2, r1, r2], as: String.self)
                func hosts(_ r: Int64) throws -> Int {
                    try db.value("SELECT count(DISTINCT r.host_id) FROM reports r WHERE r.id <= ? AND \(RetractionSQL.counts("r", atRevision: "?"))",
                                 [r, r], as: Int.self) ?? 0
                }
                return (names, (try hosts(r1), try hosts(r2)))
            }
            if touched.count <= limit {
                only = touched.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                present = counts
            }
        }
        var left = RevisionWalk(registry: self, revision: r1, hostname: request.hostname, fields: fields, only: only)
        var right = RevisionWalk(registry: self, revision: r2, hostname: request.hostname, fields: fields, only: only)
        var hostnames: [Int64: String] = [:]
        var ids: [String: Int64] = [:]
        func id(_ name: String) -> Int64 {
            if let known = ids[name] { return known }
            let new = Int64(ids.count)
            ids[name] = new
            hostnames[new] = name
            return new
        }
        var presence: [PresenceChange: [Int64]] = [:]
        var changed: [ValueMove: [Int64]] = [:]
        var counts = (from: 0, to: 0)
        let kernelListed = request.layers.contains(.kernel) && (request.fact == nil || request.fact == FleetDiffRequest.kernelFact)
        while true {
            let a = try left.peek(), b = try right.peek()
            guard a != nil || b != nil else { break }
            let order: Int = a == nil ? 1 : b == nil ? -1 : a!.hostname == b!.hostname ? 0 : a!.hostname.utf8.lexicographicallyPrecedes(b!.hostname.utf8) ? -1 : 1
            if order < 0 {
                presence[.gone, default: []].append(id(a!.hostname))
                counts.from += 1
                left.next()
                continue
            }
            if order > 0 {
                presence[.added, default: []].append(id(b!.hostname))
                counts.to += 1
                right.next()
                continue
            }
            counts.from += 1
            counts.to += 1
            let host = id(a!.hostname)
            if kernelListed && a!.kernelRelease != b!.kernelRelease {
                changed[ValueMove(name: FleetDiffRequest.kernelFact, before: a!.kernelRelease.map(FactValue.text),
                                  after: b!.kernelRelease.map(FactValue.text)), default: []].append(host)
            }
            let before = Dictionary(a!.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            let after = Dictionary(b!.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            for name in Set(before.keys).union(after.keys) where request.layers.contains(FactLayer.of(name)) && (request.fact == nil || request.fact == name) {
                if before[name] != after[name] {
                    changed[ValueMove(name: name, before: before[name], after: after[name]), default: []].append(host)
                }
            }
            left.next()
            right.next()
        }
        func list(_ hosts: [Int64]) -> HostList { HostList.of(hosts, hostnames: hostnames, after: request.hostsAfter, limit: request.hostLimit) }
        let changes = Self.fleetChanges(changed, list)
        if let present { counts = present }
        // Freshness is a matter of times, not revisions: every host with a state counts as fresh.
        return FleetDiff(from: StoreTime.date(t1), to: StoreTime.date(t2), fromRevision: r1, toRevision: r2, hostsFrom: counts.from, freshFrom: counts.from, hostsTo: counts.to, freshTo: counts.to,
                             presence: Dictionary(uniqueKeysWithValues: PresenceChange.allCases.map { ($0, list(presence[$0] ?? [])) }),
                         changes: changes)
    }
}

extension Registry {
    /// Up to this many hosts touched between two revisions are read one by one; more, and every host is walked.
    static let revisionDiffHostsReadOneByOne = 2000
}

/// Every host's state at one revision (or only the hosts `only` names, in that order), in the answers'
/// hostname order, a page of 1,000 at a time.
struct RevisionWalk {
    let registry: Registry
    let revision: Int64
    let hostname: String?
    let fields: Set<String>?
    var only: [String]?
    var page: [QueriedHost] = []
    var index = 0
    var cursor: String?
    var done = false

    init(registry: Registry, revision: Int64, hostname: String?, fields: Set<String>?, only: [String]? = nil) {
        self.registry = registry
        self.revision = revision
        self.hostname = hostname
        self.fields = fields
        self.only = only
    }

    mutating func peek() throws -> QueriedHost? {
        while index >= page.count {
            guard !done else { return nil }
            var request = HostQueryRequest(nil, reference: .revision(revision), fields: fields, limit: 1000, cursor: cursor)
            request.hostname = hostname
            if var names = only {
                // One named host at a time; one without a state at this revision gives an empty page.
                guard !names.isEmpty else { return nil }
                request.hostname = names.removeFirst()
                request.cursor = nil
                only = names
                page = try registry.answer(request).matches.hosts
                index = 0
                continue
            }
            let answer = try registry.answer(request)
            page = answer.matches.hosts
            index = 0
            cursor = answer.matches.nextCursor
            done = cursor == nil
        }
        return page[index]
    }

    mutating func next() { index += 1 }
}
