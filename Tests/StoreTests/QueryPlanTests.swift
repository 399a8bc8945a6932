import Foundation
import GRDB
import Query
import Report
import Testing
import TestSupport
import TestRegistry
@testable import Store
import StoreSQLite
@testable import Synthetic

/// Evidence that the main queries are index lookups: each plan names the index it searches, and no
/// plan scans the facts table. (Plans as SQLite 3.40 prints them are in the expectations below.)
// SQLite's planner (EXPLAIN QUERY PLAN); PostgreSQL plans its own way, checked by the figures in bench/.
@Suite(.enabled(if: TestBackend.current == .sqlite)) struct QueryPlanTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var sql: String
        /// Values do not change a plan (no ANALYZE statistics); text binds to every parameter.
        var arguments: [String]
        /// Index names that must each appear in a SEARCH line.
        var indexes: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "host as of T", sql: QuerySQL.hostAsOf, arguments: ["1", "5", "5"], indexes: ["facts_host_to"]),
        Case(name: "fleet as of T", sql: QuerySQL.fleetAsOf, arguments: ["5", "5"], indexes: ["facts_to_from"]),
        // The kernel is in reports_kernel_moves (migrations/0018), which answers it without the report row.
        Case(name: "kernel as of T", sql: QuerySQL.kernelAsOf, arguments: ["1", "5"], indexes: ["reports_kernel_moves"]),
        Case(name: "report in force at T, with its writer", sql: QuerySQL.reportAsOf, arguments: ["1", "5"], indexes: ["reports_host_time"]),
        Case(name: "an identity's refusals in the last minute", sql: Registry.recentRefusalsSQL, arguments: ["cred:0123456789abcdef", "1", "9"],
             indexes: ["write_refusals_by_identity"]),
        Case(name: "labels as of T", sql: QuerySQL.labelsAsOf, arguments: ["1", "5"],
             indexes: ["reports_host_time", "sqlite_autoindex_label_set_entries_1"]),
        Case(name: "history page: fact row ends after T", sql: HistorySQL.factEnds, arguments: ["1", "5", "9", "4"], indexes: ["facts_host_to"]),
        Case(name: "history page: capability ends after T", sql: HistorySQL.capabilityEnds, arguments: ["1", "5", "9", "4"],
             indexes: ["capability_versions_host_to"]),
        Case(name: "history page: fact rows of the span", sql: HistorySQL.factsInSpan, arguments: ["1", "5", "9"], indexes: ["facts_host_to"]),
        Case(name: "history page: capability starts in the span", sql: HistorySQL.capabilityStarts, arguments: ["1", "5", "5", "9"],
             indexes: ["capability_versions_host_to"]),
        Case(name: "hosts with name = int now", sql: QuerySQL.currentHostsWithInt, arguments: ["nesting", "1"], indexes: ["current_facts_name_int"]),
        Case(name: "nesting hosts now", sql: QuerySQL.nestingHosts, arguments: ["16"], indexes: ["hosts_by_nesting"]),
        Case(name: "hosts known at T, one page", sql: FleetPageSQL.hostsKnownAt, arguments: ["host-5", "5", "10"],
             indexes: ["sqlite_autoindex_hosts_1"]),
        Case(name: "changed hosts between T1 and T2, one page", sql: FleetPageSQL.changedHosts(names: nil, kernel: true),
             arguments: ["host-5", "1", "9", "10"], indexes: ["sqlite_autoindex_hosts_1", "facts_host_to", "reports_kernel_moves"]),
        Case(name: "changed hosts on named facts, one page", sql: FleetPageSQL.changedHosts(names: 2, kernel: false),
             arguments: ["host-5", "1", "9", "10", "nesting.format", "vfio.dma_avail"], indexes: ["sqlite_autoindex_hosts_1", "facts_host_to"]),
        Case(name: "facts an ingest at T touches", sql: "SELECT id FROM facts WHERE host_id = ? AND valid_to >= ?", arguments: ["1", "5"],
             indexes: ["facts_host_to"]),
    ]

    static func plan(_ sql: String, _ arguments: [String]) throws -> [String] {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        var reports: [Report] = []
        SyntheticFleet(hosts: 20, days: 4, seed: 3).forEachReport { reports.append($0) }
        _ = try store.ingest(reports)
        return try store.database.read { db in
            try db.rows("EXPLAIN QUERY PLAN " + sql, arguments).map { $0["detail"] as String }
        }
    }

    /// A history page's LIMIT bounds its read only if the ends come in index order: no sort, no DISTINCT table.
    @Test(arguments: [HistorySQL.factEnds, HistorySQL.capabilityEnds]) func historyEndsComeInIndexOrder(_ sql: String) throws {
        let plan = try Self.plan(sql, ["1", "5", "9", "4"])
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(plan)")
    }

    /// A count of fresh hosts (explain's total, totals=true) that names a capability few hosts have seeks the
    /// index that starts with it (migrations/0015) and reads those hosts' rows for last_seen; without such an
    /// equality it reads the hosts_count index alone, never the host rows of the whole fleet. A page walks in
    /// hostname order through the same capability index, testing the other key facts on its entries.
    @Test func countsAndPagesSeekTheCapability() throws {
        let expr = try QueryParser.parse(#"pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20"#)
        let filter = HostQuerySQL.Filter(freshSince: 5)
        let count = HostQuerySQL.count(expr, mode: .now, filter: filter)
        let countPlan = try Self.plan(count.sql, count.arguments.map(Self.text))
        #expect(countPlan == ["SEARCH h USING INDEX hosts_by_first_level (cur_first_level_format=?)"], "\(countPlan)")
        let widths = HostQuerySQL.count(try QueryParser.parse("pasid_bits >= 20 and addr_width >= 48"), mode: .now, filter: filter)
        let widthsPlan = try Self.plan(widths.sql, widths.arguments.map(Self.text))
        #expect(widthsPlan == ["SCAN h USING COVERING INDEX hosts_count"], "\(widthsPlan)")
        let page = HostQuerySQL.select(expr, mode: .now, after: nil, limit: 100, filter: filter)
        let pagePlan = try Self.plan(page.sql, page.arguments.map(Self.text))
        #expect(pagePlan == ["SEARCH h USING INDEX hosts_by_first_level (cur_first_level_format=?)"], "\(pagePlan)")
        // Without the freshness bound (the floor bench/api measures) the index alone answers.
        let bare = HostQuerySQL.select(expr, mode: .now, after: nil, limit: 100)
        let barePlan = try Self.plan(bare.sql, bare.arguments.map(Self.text))
        #expect(barePlan == ["SEARCH h USING COVERING INDEX hosts_by_first_level (cur_first_level_format=?)"], "\(barePlan)")
    }

    /// An equality on one key fact walks that fact's index in hostname order: no sort of every matching host
    /// (hosts_vendor and hosts_nesting, before 0015, made SQLite read all 65,000 `vendor = "intel"` rows of a
    /// 100,000-host fleet and sort them for a page of 101).
    @Test(arguments: [(#"iommu.vendor = "intel""#, "hosts_by_vendor (cur_vendor=?)"), ("nesting", "hosts_by_nesting (cur_nesting=?)"),
                      ("pasid_bind", "hosts_by_pasid_bind (cur_pasid_bind=?)"),
                      ("nesting and pasid_bits >= 20", "hosts_by_nesting (cur_nesting=?)"),
                      (#"first_level.format = "arm-smmuv3""#, "hosts_by_first_level (cur_first_level_format=?)")])
    func keyFactEqualitiesWalkInHostnameOrder(_ text: String, _ index: String) throws {
        let expr = try QueryParser.parse(text)
        let page = HostQuerySQL.select(expr, mode: .now, after: nil, limit: 100, filter: HostQuerySQL.Filter(freshSince: 5),
                                       columns: HostPageReads.NowColumns(fields: ["pasid_bits"]).columns)
        let plan = try Self.plan(page.sql, page.arguments.map(Self.text))
        #expect(plan == ["SEARCH h USING INDEX \(index)"], "\(text): \(plan)")
        let next = HostQuerySQL.select(expr, mode: .now, after: "host-5", limit: 100)
        let nextPlan = try Self.plan(next.sql, next.arguments.map(Self.text))
        #expect(nextPlan == ["SEARCH h USING COVERING INDEX \(index.dropLast()) AND hostname>?)"], "\(text): \(nextPlan)")
    }

    static func text(_ argument: SQLValue) -> String {
        switch argument {
        case .text(let t): return t
        case .int(let i): return String(i)
        default: return ""
        }
    }

    @Test(arguments: cases) func usesAnIndex(_ c: Case) throws {
        let plan = try Self.plan(c.sql, c.arguments)
        for index in c.indexes {
            #expect(plan.contains { $0.hasPrefix("SEARCH") && $0.contains("INDEX \(index) ") }, "\(c.name): \(plan)")
        }
        #expect(!plan.contains { $0.hasPrefix("SCAN facts") || $0.hasPrefix("SCAN reports") || $0.hasPrefix("SCAN hosts") },
                "\(c.name) scans a table: \(plan)")
    }
}

