import Decoders
import Foundation
import Query
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
@testable import Synthetic
import TestRegistry

/// `covers(vfio.iova_windows, ADDRESS)` compiled to SQL (the capreg_covers function) on hand-made
/// hosts: one container at 48 or 39 bits, two containers (their common windows), none (unknown).
@Suite struct CoversQueryTests {
    static func report(_ host: String, at hours: Double, tops: [UInt64]) -> Report {
        let sources = tops.enumerated().map { i, top -> Report.Source in
            var shape = SyntheticBytes.VFIOShape()
            shape.topIOVA = top
            return Report.Source(kind: .vfio, unit: "vfio-group-\(i + 1)", raw: SyntheticBytes.vfioInfo(shape))
        }
        let (cap, ecap) = SyntheticFleet.vtdRegisters(.vtdScalable)
        let sysfs = Report.Source(kind: .sysfsIntel, unit: "dmar0", raw: SyntheticBytes.sysfsIntel(cap: cap, ecap: ecap, address: 0xfed9_0000))
        return Report(reportId: "r-\(host)-\(hours)", collectedAt: Fleet.time(hours), host: Report.Host(hostname: host, machineId: "m-\(host)", labels: [:]),
                      kernel: Report.Kernel(release: "6.1.0-18-amd64"), collectorVersion: "test", sources: [sysfs] + sources)
    }

    static func store(_ dir: TempDir) throws -> Registry {
        let store = try TestRegistry.open(dir.path("covers.sqlite"))
        _ = try store.ingest([
            report("aw48", at: 0, tops: [0xffff_ffff_ffff]),
            report("aw39", at: 0, tops: [0x7f_ffff_ffff]),
            report("two", at: 0, tops: [0xffff_ffff_ffff, 0x7f_ffff_ffff]),
            report("none", at: 0, tops: []),
            report("late", at: 0, tops: [0x7f_ffff_ffff]),
            report("late", at: 10, tops: [0xffff_ffff_ffff]),  // grew to 48 bits at hour 10
        ])
        return store
    }

    func hostnames(_ store: Registry, _ text: String, asOf hours: Double? = nil) throws -> [String] {
        try store.allPages(QueryParser.parse(text), asOf: hours.map(Fleet.time), limit: 2).map(\.hostname)
    }

    @Test func hostsCarryTheirCommonWindows() throws {
        let dir = try TempDir()
        let hosts = Dictionary(uniqueKeysWithValues: try Self.store(dir).hosts().map { ($0.hostname, $0.facts) })
        func windows(_ host: String) -> FactValue? { hosts[host]?.first { $0.name == VFIOInfo.iovaWindows }?.value }
        #expect(windows("aw48") == .text("0x0-0xfedfffff,0xfef00000-0xffffffffffff"))
        #expect(windows("two") == .text("0x0-0xfedfffff,0xfef00000-0x7fffffffff"), "what both containers map")
        #expect(windows("none") == nil)
    }

    @Test func nowAndAsOf() throws {
        let dir = try TempDir()
        let store = try Self.store(dir)
        #expect(try hostnames(store, "covers(vfio.iova_windows, 0xfee00000)") == [])
        #expect(try hostnames(store, "not covers(vfio.iova_windows, 0xfee00000)") == ["aw39", "aw48", "late", "two"], "none is unknown, not listed")
        #expect(try hostnames(store, "covers(vfio.iova_windows, 0x8000000000)") == ["aw48", "late"])
        #expect(try hostnames(store, "not covers(vfio.iova_windows, 0x8000000000)") == ["aw39", "two"])
        #expect(try hostnames(store, "covers(vfio.iova_windows, 0) or not known(vfio.iova_windows)") == ["aw39", "aw48", "late", "none", "two"])
        #expect(try hostnames(store, "covers(vfio.iova_windows, 0x8000000000)", asOf: 1) == ["aw48"], "late was 39 bits then")
        #expect(try hostnames(store, "not covers(vfio.iova_windows, 0x8000000000)", asOf: 1) == ["aw39", "late", "two"])
        #expect(try hostnames(store, "covers(vfio.iova_windows, 0x8000000000)", asOf: -1) == [], "nobody seen yet")
    }

    /// SQL and the reference evaluator agree on every address around the windows' edges.
    @Test func sqlEqualsTheEvaluator() throws {
        let dir = try TempDir()
        let store = try Self.store(dir)
        let hosts = try store.hosts()
        for address in ["0", "0xfedfffff", "0xfee00000", "0xfeefffff", "0xfef00000", "0x7fffffffff", "0x8000000000", "0xffffffffffff",
                        "0x1000000000000", "0x7fffffffffffffff"] {
            for text in ["covers(vfio.iova_windows, \(address))", "not covers(vfio.iova_windows, \(address))"] {
                let expr = try QueryParser.parse(text)
                let expected = hosts.filter {
                    QueryEvaluator(facts: Dictionary($0.facts.map { ($0.name, $0.value) }) { a, _ in a }, kernelRelease: $0.kernelRelease,
                                   labels: $0.labels).matches(expr)
                }.map(\.hostname)
                #expect(try hostnames(store, text) == expected, "\(text)")
            }
        }
    }

    /// A stored text that is not a window list (written past the decoders) is unknown on both sides.
    @Test func functionIsNullOnNonLists() throws {
        let dir = try TempDir()
        let store = try Self.store(dir)
        let results = try store.database.read { db in
            try ["0x0-0x10", "garbage", "", "0x0-0x10,0x20-0x30"].map { text in
                try db.value("SELECT capreg_covers(?, ?)", [text, 0x20], as: Int64.self)
            } + [try db.value("SELECT capreg_covers(?, ?)", ["0x0-0x10", -1], as: Int64.self),
                 try db.value("SELECT capreg_covers(NULL, 1)", as: Int64.self)]
        }
        #expect(results == [0, nil, 0, 1, nil, nil])
    }
}
