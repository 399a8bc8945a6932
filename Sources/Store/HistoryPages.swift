import Decoders
import Foundation

/// Where the next page of a host's history starts: the version it begins with (not shown yet), and the
/// time up to which every boundary after that version's start is known to change nothing. Two numbers,
/// not one: a version may span more boundaries than one page reads (capability bytes that change without
/// changing a fact or the kernel), and the next page must go on from where this one stopped reading.
public struct HistoryCursor: Sendable, Hashable {
    /// Start of the next version to show, in ms.
    public var versionStart: Int64
    /// Boundaries in (versionStart, scannedTo] merge into that version; in ms, ≥ versionStart.
    public var scannedTo: Int64

    public init(versionStart: Int64, scannedTo: Int64) {
        self.versionStart = versionStart
        self.scannedTo = scannedTo
    }
}

public struct HistoryPage: Sendable, Hashable {
    /// The registry revision the page was read at (same transaction as its versions).
    public var revision: Int64
    /// Oldest first; may be fewer than the limit (even none) while `next` is not nil.
    public var versions: [HostVersion]
    /// nil: the page ends with the current version.
    public var next: HistoryCursor?
    /// The host's retracted reports (capreg retract), every one on every page: they hold no version.
    public var retractions: [Retraction] = []
}

/// The SQL of a history page, kept apart so that StoreTests can EXPLAIN each one.
enum HistorySQL {
    /// The first distinct ends of closed rows after T, in index order (the LIMIT stops the range read).
    static let factEnds = """
        SELECT DISTINCT valid_to FROM facts WHERE host_id = ? AND valid_to > ? AND valid_to < ? ORDER BY valid_to LIMIT ?
        """
    static let capabilityEnds = """
        SELECT DISTINCT valid_to FROM capability_versions WHERE host_id = ? AND valid_to > ? AND valid_to < ? ORDER BY valid_to LIMIT ?
        """
    /// Fact rows alive at some time in [T1, T2]. The index range is valid_to > T1, so an early page also
    /// walks the index entries of later rows (valid_from is tested in the index; only the span's rows are read).
    static let factsInSpan = """
        SELECT name, type, value_int, value_text, valid_from, valid_to FROM facts WHERE host_id = ? AND valid_to > ? AND valid_from <= ?
        """
    /// Capability versions that start in (T1, T2] (their rows change no fact, only where versions may start).
    static let capabilityStarts = """
        SELECT DISTINCT valid_from FROM capability_versions WHERE host_id = ? AND valid_to > ? AND valid_from > ? AND valid_from <= ?
        """
}

/// A host's history one page at a time. A version starts at a boundary (a start or end of a fact row or a
/// capability version) whose state (facts, and the kernel of the newest report at or before it) differs
/// from the previous boundary's; equal states merge. A page reads the first `2 × (limit + 1)` distinct
/// row ends after its cursor (an index range that stops at the LIMIT), which fixes its span; then the fact
/// rows alive in that span and the capability starts inside it; then sweeps the span's boundaries in order.
/// Every row start in the span is found that way: a row starting inside the span is alive in it.
enum HistoryPages {
    /// Boundaries that change nothing merge, so a page reads more ends than the versions it needs.
    static func endsToRead(limit: Int) -> Int { 2 * (limit + 1) }

    struct FactRow {
        var fact: Fact
        var from: Int64
        var to: Int64
    }

    struct State: Equatable {
        var facts: [Fact]
        var kernel: String?
    }

    static func page(_ db: any SQLConnection, host: Int64, after cursor: HistoryCursor?, limit: Int) throws -> HistoryPage {
        precondition(limit >= 1, "a page holds at least one version")
        let revision = try Registry.revision(db)
        let scanned = cursor?.scannedTo ?? Int64.min
        let n = endsToRead(limit: limit)
        var ends: [Int64] = []
        for sql in [HistorySQL.factEnds, HistorySQL.capabilityEnds] {
            ends += try db.values(sql, [host, scanned, StoreTime.openEnd, n], as: Int64.self)
        }
        ends = Array(Set(ends).sorted().prefix(n))
        // Fewer ends than asked for: the span reaches the end of the history.
        let reachesEnd = ends.count < n
        let spanEnd = reachesEnd ? StoreTime.openEnd : ends[ends.count - 1]

        var rows: [FactRow] = []
        var boundaries = Set(ends)
        for r in try db.rows(HistorySQL.factsInSpan, [host, scanned, spanEnd]) {
            let row = FactRow(fact: Registry.fact(r), from: r[4], to: r[5])
            if row.from > scanned { boundaries.insert(row.from) }
            rows.append(row)
        }
        boundaries.formUnion(try db.values(HistorySQL.capabilityStarts, [host, scanned, scanned, spanEnd], as: Int64.self))

        // The sweep: rows join when the sweep reaches their start and leave at their end.
        rows.sort { $0.from < $1.from }
        var joined = 0
        var alive: [FactRow] = []
        // The state at t, and the report in force then (the one a version starting at t comes from).
        func state(at t: Int64) throws -> (State, ReportSource?) {
            while joined < rows.count && rows[joined].from <= t {
                alive.append(rows[joined])
                joined += 1
            }
            alive.removeAll { $0.to <= t }
            let report = try Registry.reportAsOf(db, host: host, at: t)
            return (State(facts: alive.map(\.fact).sorted { $0.name < $1.name }, kernel: report?.kernel), report?.source)
        }

        // The version begun but not yet ended: the cursor's, or the first boundary's on the first page.
        // Its source is the report in force at its start, not at the boundary the sweep is at.
        var pending: (start: Int64, state: State, source: ReportSource?)?
        if let cursor {
            pending = (cursor.versionStart, try state(at: scanned).0, try Registry.reportAsOf(db, host: host, at: cursor.versionStart)?.source)
        }
        var versions: [HostVersion] = []
        for b in boundaries.sorted() {
            let (s, source) = try state(at: b)
            if let p = pending {
                if p.state == s { continue }
                versions.append(HostVersion(validFrom: StoreTime.date(p.start), validTo: StoreTime.end(b),
                                            kernelRelease: p.state.kernel, facts: p.state.facts, source: p.source))
                if versions.count == limit {
                    return HistoryPage(revision: revision, versions: versions, next: HistoryCursor(versionStart: b, scannedTo: b))
                }
            }
            pending = (b, s, source)
        }
        guard let p = pending else { return HistoryPage(revision: revision, versions: [], next: nil) }  // a host without rows
        guard reachesEnd else {
            // The pending version may go on past the span: the next page finds its end.
            return HistoryPage(revision: revision, versions: versions, next: HistoryCursor(versionStart: p.start, scannedTo: spanEnd))
        }
        versions.append(HostVersion(validFrom: StoreTime.date(p.start), validTo: nil, kernelRelease: p.state.kernel, facts: p.state.facts,
                                    source: p.source))
        return HistoryPage(revision: revision, versions: versions, next: nil)
    }
}

extension Registry {
    /// One page of `history(hostname:)`: at most `limit` versions after `cursor` (nil: from the first),
    /// reading only the rows of the page's span. nil for an unknown host.
    public func historyPage(hostname: String, after cursor: HistoryCursor?, limit: Int) throws -> HistoryPage? {
        try budgetedRead { db in
            guard StoreText.bindable(hostname), let id = try db.value("SELECT id FROM hosts WHERE hostname = ?", [hostname], as: Int64.self) else { return nil }
            var page = try HistoryPages.page(db, host: id, after: cursor, limit: limit)
            page.retractions = try Self.retractions(db, hostname: hostname)
            return page
        }
    }

    /// Every page of `historyPage`, read in one transaction.
    public func history(hostname: String) throws -> [HostVersion] {
        try budgetedRead { db in
            guard StoreText.bindable(hostname), let id = try db.value("SELECT id FROM hosts WHERE hostname = ?", [hostname], as: Int64.self) else { return [] }
            var versions: [HostVersion] = []
            var cursor: HistoryCursor?
            repeat {
                let page = try HistoryPages.page(db, host: id, after: cursor, limit: 1000)
                versions += page.versions
                cursor = page.next
            } while cursor != nil
            return versions
        }
    }
}
