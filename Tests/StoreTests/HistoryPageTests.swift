import Decoders
import Foundation
import GRDB
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
@testable import Synthetic

/// History read a page at a time must equal the whole history as the registry computed it before pages
/// existed: `wholeHistory` below is that algorithm, kept as the reference model.
@Suite struct HistoryPageTests {
    /// The pre-paging algorithm: every fact row and capability bound of the host, every boundary's state
    /// by filtering all rows, consecutive equal states (facts and kernel) merged.
    static func wholeHistory(_ store: Registry, _ hostname: String) throws -> [HostVersion] {
        try store.database.read { db in
            guard let id = try db.value("SELECT id FROM hosts WHERE hostname = ?", [hostname], as: Int64.self) else { return [] }
            let rows = try db.rows("SELECT name, type, value_int, value_text, valid_from, valid_to FROM facts WHERE host_id = ? ORDER BY valid_from", [id]).map { r in
                (fact: Fact(r[0], FactColumns.join(type: r[1], int: r[2], text: r[3])), from: r[4] as Int64, to: r[5] as Int64)
            }
            var bounds = Set<Int64>()
            for row in rows { bounds.insert(row.from); if row.to != StoreTime.openEnd { bounds.insert(row.to) } }
            for r in try db.rows("SELECT valid_from, valid_to FROM capability_versions WHERE host_id = ?", [id]) {
                bounds.insert(r[0])
                let to: Int64 = r[1]
                if to != StoreTime.openEnd { bounds.insert(to) }
            }
            let reports = try db.rows("""
                SELECT collected_at, kernel_release, report_id, written_by, peer FROM reports WHERE host_id = ? ORDER BY collected_at, id
                """, [id]).map { ($0[0] as Int64, $0[1] as String, ReportSource(reportId: $0[2], writtenBy: $0[3], peer: $0[4])) }
            let starts = bounds.sorted()
            var versions: [HostVersion] = []
            for (i, start) in starts.enumerated() {
                let end = i + 1 < starts.count ? starts[i + 1] : StoreTime.openEnd
                let facts = rows.filter { $0.from <= start && $0.to > start }.map(\.fact).sorted { $0.name < $1.name }
                // The report in force at the version's start: the newest received among the newest collected.
                let inForce = reports.last { $0.0 <= start }
                let kernel = inForce?.1
                if let last = versions.last, last.facts == facts, last.kernelRelease == kernel {
                    versions[versions.count - 1].validTo = StoreTime.end(end)
                    continue
                }
                versions.append(HostVersion(validFrom: StoreTime.date(start), validTo: StoreTime.end(end), kernelRelease: kernel, facts: facts,
                                            source: inForce?.2))
            }
            return versions
        }
    }

    /// A VFIO-only report whose bytes change (6.12's padding) without changing a fact: a capability
    /// boundary that opens no version.
    static func padded(_ id: String, host: String, at hours: Double, pad: Bool, pgsizes: UInt64 = 0x4020_1000) -> Report {
        var shape = SyntheticBytes.VFIOShape()
        shape.padTo8 = pad
        shape.pgsizes = pgsizes
        return Report(reportId: id, collectedAt: Fixture.time(hours), host: Report.Host(hostname: host, machineId: "m-\(host)", labels: [:]),
                      kernel: Report.Kernel(release: "6.12.9-amd64"), collectorVersion: "test",
                      sources: [Report.Source(kind: .vfio, unit: "vfio-group-1", raw: SyntheticBytes.vfioInfo(shape))])
    }

    /// A fleet of 90 days, hosts with 30 versions each, and a host whose capability bytes flap 40 times
    /// under 3 fact changes; all arriving in a shuffled order (older reports after newer ones).
    static func store(_ dir: TempDir) throws -> (Registry, [String]) {
        let store = try Fixture.store(dir)
        let fleet = SyntheticFleet(hosts: 10, days: 90, seed: 7)
        var reports: [Report] = []
        fleet.forEachReport { reports.append($0) }
        for host in [10, 11] { reports += fleet.versionedReports(host: host, versions: 30) }
        for i in 0..<40 {
            reports.append(padded("flap-\(i)", host: "flappy", at: Double(i), pad: i % 2 == 1, pgsizes: i < 13 ? 0x4020_1000 : i < 27 ? 0x1000 : 0x20_1000))
        }
        var g = SplitMix64(seed: 11)
        reports.shuffle(using: &g)
        // Each batch by another writer, so that every version's source is told apart by who wrote it.
        for start in stride(from: 0, to: reports.count, by: 100) {
            let writer = try Writer(identity: "cred:\(String(start, radix: 16))", peer: "10.0.\(start / 100 / 256).\(start / 100 % 256)")
            _ = try store.ingest(Array(reports[start..<min(start + 100, reports.count)]), writer: writer)
        }
        return (store, Set(reports.map(\.host.hostname)).sorted())
    }

    static func allPages(_ store: Registry, _ hostname: String, limit: Int) throws -> (versions: [HostVersion], pages: Int, emptyPages: Int) {
        var versions: [HostVersion] = []
        var cursor: HistoryCursor?
        var pages = 0, empty = 0
        repeat {
            let page = try #require(try store.historyPage(hostname: hostname, after: cursor, limit: limit))
            #expect(page.versions.count <= limit)
            if let next = page.next {
                #expect(next.versionStart <= next.scannedTo)
                if let c = cursor { #expect(next.scannedTo > c.scannedTo, "a page must move on") }
            }
            versions += page.versions
            pages += 1
            if page.versions.isEmpty { empty += 1 }
            cursor = page.next
        } while cursor != nil && pages < 10_000
        return (versions, pages, empty)
    }

    @Test(arguments: [1, 2, 3, 1000]) func pagesConcatenateToTheWholeHistory(limit: Int) throws {
        let dir = try TempDir()
        let (store, hosts) = try Self.store(dir)
        var longest = 0
        for host in hosts {
            let expected = try Self.wholeHistory(store, host)
            let paged = try Self.allPages(store, host, limit: limit)
            #expect(paged.versions == expected, "\(host), pages of \(limit)")
            #expect(try store.history(hostname: host) == expected, "\(host)")
            longest = max(longest, expected.count)
        }
        #expect(longest >= 30, "the fleet should hold long histories")
        #expect(try store.historyPage(hostname: "no-such-host", after: nil, limit: limit) == nil)
    }

    @Test func boundariesThatChangeNothingMergeAcrossPages() throws {
        let dir = try TempDir()
        let (store, _) = try Self.store(dir)
        let expected = try Self.wholeHistory(store, "flappy")
        #expect(expected.count == 3, "three fact states")
        let capabilityRows = try store.count("SELECT count(*) FROM capability_versions c JOIN hosts h ON h.id = c.host_id WHERE h.hostname = 'flappy'")
        #expect(capabilityRows > 20, "the padding must open capability versions")
        // Pages of one read four row ends each: a version spanning ~13 capability versions takes several
        // pages, some holding no version at all while the cursor moves on.
        let paged = try Self.allPages(store, "flappy", limit: 1)
        #expect(paged.versions == expected)
        #expect(paged.emptyPages > 0)
    }

    @Test func aHostWithoutRowsHasNoVersions() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("r1", at: 0)])
        try store.database.write { db in
            try db.execute("DELETE FROM facts")
            try db.execute("DELETE FROM capability_versions")
        }
        let page = try #require(try store.historyPage(hostname: "h1", after: nil, limit: 5))
        #expect(page.versions.isEmpty && page.next == nil)
        #expect(try Self.wholeHistory(store, "h1").isEmpty)
    }
}
