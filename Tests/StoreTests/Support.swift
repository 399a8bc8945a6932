import Decoders
import Foundation
import GRDB
import Report
@testable import Store
import StoreSQLite
import TestSupport
import TestRegistry
@testable import Synthetic

/// Reports whose only source is a VFIO type1 info buffer, so that these tests rest on the VFIO decoder
/// alone. `pgsizes` and `top` change facts (vfio.iova_pgsizes, vfio.pgsize_2m/_1g, the IOVA range).
enum Fixture {
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000)

    static func time(_ hours: Double) -> Date { t0.addingTimeInterval(hours * 3600) }

    static func vfio(pgsizes: UInt64 = 0x4020_1000, top: UInt64 = 0x7f_ffff_ffff, dmaAvail: Bool = true) -> [UInt8] {
        var shape = SyntheticBytes.VFIOShape()
        shape.pgsizes = pgsizes
        shape.topIOVA = top
        shape.dmaAvail = dmaAvail
        return SyntheticBytes.vfioInfo(shape)
    }

    static func report(_ id: String, host: String = "h1", at hours: Double, kernel: String = "6.1.0-18-amd64",
                       pgsizes: UInt64 = 0x4020_1000, top: UInt64 = 0x7f_ffff_ffff, dmaAvail: Bool = true,
                       labels: [String: String] = [:]) -> Report {
        Report(reportId: id, collectedAt: time(hours), host: Report.Host(hostname: host, machineId: "m-\(host)", labels: labels),
               kernel: Report.Kernel(release: kernel), collectorVersion: "test",
               sources: [Report.Source(kind: .vfio, unit: "vfio-group-1", raw: vfio(pgsizes: pgsizes, top: top, dmaAvail: dmaAvail))])
    }

    /// Host facts the store should hold for `report` (decoded the same way, independently of the store).
    static func expectedFacts(_ report: Report) throws -> [Fact] {
        let kernel = KernelRelease(report.kernel.release)
        return HostFacts.of(try report.sources.flatMap { try SourceDecoder.records($0, kernel: kernel) },
                            kernel: report.kernel.release, collectorVersion: report.collectorVersion)
    }

    static func store(_ dir: TempDir, _ name: String = "capreg.sqlite") throws -> Registry {
        try TestRegistry.open(dir.path(name))
    }
}

extension Registry {

    func count(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> Int {
        try database.read { db in try db.value(sql, arguments, as: Int.self) ?? 0 }
    }
}

extension Array where Element == Fact {
    var byName: [String: FactValue] { Dictionary(map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }) }
}
