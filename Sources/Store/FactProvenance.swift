import Decoders
import Foundation
import Report

/// A stored report as provenance shows it: which one, who wrote it, when, read by which decoders.
public struct ReportOrigin: Sendable, Hashable {
    public var revision: Int64
    public var reportId: String
    public var collectorVersion: String
    public var kernelRelease: String
    /// nil: stored before writers were recorded (migrations/0010).
    public var writtenBy: String?
    public var collectedAt: Date
    public var receivedAt: Date
    /// The decoders that produced its facts (a redecode raises it).
    public var decoderVersion: Int
    /// created, changed, history, heartbeat (a heartbeat kept as a report).
    public var outcome: String
}

/// A capability version whose decoded facts give the fact a value, as stored: its raw bytes and decoder.
public struct FactSource: Sendable, Hashable {
    public var unit: String
    public var capability: String
    public var version: Int
    public var kernelRelease: String
    public var decoderVersion: Int
    public var raw: [UInt8]
    /// The value this unit's decoded facts give (a host's fact combines its units': HostFacts); nil for a
    /// source a derived fact was decided from.
    public var value: FactValue?
    public var validFrom: Date
    public var validTo: Date?
    /// The report that first sent these bytes.
    public var openedBy: String
}

/// A later rewrite of the host's facts (a redecode, or a retraction) that covered the time: the value
/// the fact had at the time before that revision, as facts_superseded kept it.
public struct FactRewrite: Sendable, Hashable {
    public var revision: Int64
    /// redecode or retraction.
    public var kind: String
    public var at: Date
    public var decoderVersion: Int
    /// The value before the rewrite (nil: absent).
    public var before: FactValue?
    /// Whether the rewrite changed the value at the time (the next rewrite's before, or today's value, differs).
    public var changedValue: Bool
}

/// Where one fact of one host at one time came from (`capreg why`, GET …/facts/{name}/provenance).
public struct FactProvenance: Sendable, Hashable {
    public var hostname: String
    public var name: String
    public var at: Date
    /// nil: the fact was absent (unknown) then.
    public var value: FactValue?
    public var validFrom: Date?
    public var validTo: Date?
    /// The report whose state first gave the value (the fact row's opener).
    public var setBy: ReportOrigin?
    /// The host's report in force at the time (the newest counted one collected then or before).
    public var inForce: ReportOrigin?
    /// The capability versions valid at the time whose decoded facts give the name; for a fact derived from
    /// the kernel's answers (the usable half, devices.count) the sources it was decided from.
    public var sources: [FactSource]
    public var derived: Bool
    /// evidence.NAME at the time, for a usable fact.
    public var evidence: String?
    public var rewrites: [FactRewrite]
}

extension Registry {
    /// nil when no host has the name.
    public func provenance(hostname: String, name: String, at: Date) throws -> FactProvenance? {
        let t = StoreTime.ms(at)
        return try budgetedRead { db -> FactProvenance? in
            guard StoreText.bindable(hostname), StoreText.bindable(name),
                  let host = try db.value("SELECT id FROM hosts WHERE hostname = ?", [hostname], as: Int64.self) else { return nil }
            var out = FactProvenance(hostname: hostname, name: name, at: at, sources: [], derived: false, rewrites: [])
            let row = try db.row("""
                SELECT type, value_int, value_text, valid_from, valid_to, opened_by FROM facts
                WHERE host_id = ? AND valid_to > ? AND valid_from <= ? AND name = ?
                """, [host, t, t, name])
            if let row {
                out.value = FactColumns.join(type: row[0], int: row[1], text: row[2])
                out.validFrom = StoreTime.date(row[3])
                let to: Int64 = row[4]
                out.validTo = to == StoreTime.openEnd ? nil : StoreTime.date(to)
                out.setBy = try Self.origin(db, "r.id = ?", [row[5] as Int64])
            }
            out.inForce = try Self.origin(db, """
                r.id = (SELECT rx.id FROM reports rx WHERE rx.host_id = ? AND rx.collected_at <= ? AND \(RetractionSQL.counts("rx"))
                        ORDER BY rx.collected_at DESC, rx.id DESC LIMIT 1)
                """, [host, t])

            // The capability versions valid then, and which of them give the name.
            var valid: [(FactSource, decoded: String)] = []
            for c in try db.rows("""
                SELECT c.unit, c.capability, c.capability_version, c.kernel_release, c.decoder_version, c.raw, c.decoded,
                       c.valid_from, c.valid_to, r.report_id
                FROM capability_versions c JOIN reports r ON r.id = c.opened_by
                WHERE c.host_id = ? AND c.valid_to > ? AND c.valid_from <= ? ORDER BY c.unit, c.capability
                """, [host, t, t]) {
                let to: Int64 = c[8]
                let source = FactSource(unit: c[0], capability: c[1], version: c[2], kernelRelease: c[3], decoderVersion: c[4],
                                        raw: [UInt8](c[5] as Data), value: nil, validFrom: StoreTime.date(c[7]),
                                        validTo: to == StoreTime.openEnd ? nil : StoreTime.date(to), openedBy: c[9])
                valid.append((source, c[6]))
            }
            for (source, decoded) in valid {
                if let value = Self.decodedFact(name, in: decoded) {
                    var giving = source
                    giving.value = value
                    out.sources.append(giving)
                }
            }
            if out.sources.isEmpty, let derivedFrom = Self.derivedFrom(name) {
                out.derived = true
                out.sources = valid.map(\.0).filter { source in
                    derivedFrom.contains { $0.hasSuffix("*") ? source.capability.hasPrefix($0.dropLast()) : source.capability == $0 }
                }
            }
            if FactLayer.of(name) == .usable {
                out.evidence = try db.value("""
                    SELECT value_text FROM facts WHERE host_id = ? AND valid_to > ? AND valid_from <= ? AND name = ?
                    """, [host, t, t, CrossVendor.evidence(name)], as: String.self)
            }

            // Rewrites that covered the time, oldest first; each one's value is compared with the next's.
            let rewritten = try db.rows("""
                SELECT s.revision, v.kind, v.at, v.decoder_version, s.type, s.value_int, s.value_text FROM revisions v
                LEFT JOIN facts_superseded s ON s.revision = v.id AND s.host_id = ? AND s.name = ? AND s.valid_to > ? AND s.valid_from <= ?
                WHERE v.id IN (SELECT DISTINCT revision FROM facts_superseded WHERE host_id = ?) ORDER BY v.id
                """, [host, name, t, t, host])
            for (i, r) in rewritten.enumerated() {
                let before: FactValue? = (r[4] as String?).map { FactColumns.join(type: $0, int: r[5], text: r[6]) }
                let next: FactValue? = i + 1 < rewritten.count
                    ? (rewritten[i + 1][4] as String?).map { FactColumns.join(type: $0, int: rewritten[i + 1][5], text: rewritten[i + 1][6]) }
                    : out.value
                out.rewrites.append(FactRewrite(revision: r[0] ?? 0, kind: r[1], at: StoreTime.date(r[2]), decoderVersion: r[3],
                                                before: before, changedValue: before != next))
            }
            return out
        }
    }

    /// What a derived fact is decided from: capability names (a trailing `*` is a prefix); nil for a
    /// fact the decoders give directly.
    static func derivedFrom(_ name: String) -> [String]? {
        if FactLayer.of(name) == .usable || name.hasPrefix(FactLayer.evidencePrefix) { return [SourceDecoder.kernelProbes, "vfio-cap-*"] }
        if name == PCIDevice.hostCount { return [SourceDecoder.pciDevice] }
        return nil
    }

    /// The value a capability version's stored `decoded` JSON ({"facts":{name:value},…}) gives `name`, typed
    /// as the vocabulary types it; nil when it gives none.
    static func decodedFact(_ name: String, in decoded: String) -> FactValue? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(decoded.utf8)) as? [String: Any],
              let facts = object["facts"] as? [String: Any], let value = facts[name] else { return nil }
        switch (Vocabulary.entry(name)?.type, value) {
        case (.bool?, let n as NSNumber): return .bool(n.boolValue)
        case (.int?, let n as NSNumber): return .int(n.int64Value)
        case (_, let text as String): return .text(text)
        default: return nil
        }
    }

    static func origin(_ db: any SQLConnection, _ condition: String, _ arguments: [any SQLBindable]) throws -> ReportOrigin? {
        guard let r = try db.row("""
            SELECT r.id, r.report_id, r.collector_version, r.kernel_release, r.written_by, r.collected_at, r.received_at,
                   r.decoder_version, r.outcome FROM reports r WHERE \(condition)
            """, arguments) else { return nil }
        return ReportOrigin(revision: r[0], reportId: r[1], collectorVersion: r[2], kernelRelease: r[3], writtenBy: r[4],
                            collectedAt: StoreTime.date(r[5]), receivedAt: StoreTime.date(r[6]), decoderVersion: r[7], outcome: r[8])
    }
}
