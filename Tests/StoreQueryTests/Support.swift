import Decoders
import Foundation
import GRDB
import Query
import Report
@testable import Store
import StoreSQLite
import TestSupport
@testable import Synthetic
import TestRegistry

enum Fleet {
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000)
    static func time(_ hours: Double) -> Date { t0.addingTimeInterval(hours * 3600) }

    /// A store holding `SyntheticFleet(hosts:days:seed:)`.
    static func synthetic(_ dir: TempDir, hosts: Int, days: Int, seed: UInt64) throws -> (Registry, SyntheticFleet) {
        let store = try TestRegistry.open(dir.path("fleet.sqlite"))
        let fleet = SyntheticFleet(hosts: hosts, days: days, seed: seed)
        var reports: [Report] = []
        fleet.forEachReport { reports.append($0) }
        let results = try store.ingest(reports)
        precondition(results.allSatisfy { $0.outcome != .rejected }, "synthetic reports must ingest")
        return (store, fleet)
    }

    /// A report whose only source is a VFIO type1 info buffer (facts vfio.*), with the given kernel and labels.
    static func report(_ id: String, host: String, at hours: Double, kernel: String, pgsizes: UInt64 = 0x4020_1000,
                       labels: [String: String] = [:]) -> Report {
        var shape = SyntheticBytes.VFIOShape()
        shape.pgsizes = pgsizes
        return Report(reportId: id, collectedAt: time(hours), host: Report.Host(hostname: host, machineId: "m-\(host)", labels: labels),
                      kernel: Report.Kernel(release: kernel), collectorVersion: "test",
                      sources: [Report.Source(kind: .vfio, unit: "vfio-group-1", raw: SyntheticBytes.vfioInfo(shape))])
    }
}

extension Registry {
    /// Every page of a query, concatenated, checking that pages are full until the last.
    func allPages(_ expr: QueryExpr?, asOf: Date? = nil, limit: Int) throws -> [QueriedHost] {
        var out: [QueriedHost] = []
        var cursor: String?
        repeat {
            let page = try queryHosts(expr, asOf: asOf, fields: nil, limit: limit, after: cursor)
            if page.nextCursor != nil && page.hosts.count != limit { throw PageError.shortPageWithCursor }
            out += page.hosts
            cursor = page.nextCursor
        } while cursor != nil
        return out
    }

    enum PageError: Error { case shortPageWithCursor }

    func plan(_ sql: String, _ arguments: [SQLValue]) throws -> [String] {
        try database.read { db in
            try db.rows("EXPLAIN QUERY PLAN " + sql, arguments).map { $0["detail"] as String }
        }
    }
}
