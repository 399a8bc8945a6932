import Decoders
import Foundation
import Query
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
import TestRegistry

/// Kernel ordering, as-of answers, pagination and the query plans, on hand-made reports and a synthetic fleet.
@Suite struct HostQueryTests {
    func hostnames(_ store: Registry, _ text: String, asOf hours: Double? = nil) throws -> [String] {
        try store.allPages(QueryParser.parse(text), asOf: hours.map(Fleet.time), limit: 1000).map(\.hostname)
    }

    @Test func kernelsOrderAsVersions() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("k.sqlite"))
        let kernels = ["a": "5.9.16", "b": "5.10.0-56-amd64", "c": "5.10.200", "d": "6.1.0-18-amd64", "e": "6.6.0-rc3", "f": "10.1.0"]
        _ = try store.ingest(kernels.map { Fleet.report("r-\($0.key)", host: $0.key, at: 1, kernel: $0.value) })
        #expect(try hostnames(store, #"kernel > "5.9""#) == ["b", "c", "d", "e", "f"])  // as text, "5.10" < "5.9"
        #expect(try hostnames(store, #"kernel >= "5.10""#) == ["b", "c", "d", "e", "f"])
        #expect(try hostnames(store, #"kernel < "5.10""#) == ["a"])
        #expect(try hostnames(store, #"kernel = "5.10""#) == ["b", "c"])
        #expect(try hostnames(store, #"kernel <= "5.10""#) == ["a", "b", "c"])
        #expect(try hostnames(store, #"kernel > "5.10""#) == ["d", "e", "f"])
        #expect(try hostnames(store, #"kernel < "6.6""#) == ["a", "b", "c", "d"])
        #expect(try hostnames(store, #"kernel != "6""#) == ["a", "b", "c", "f"])
        #expect(try hostnames(store, #"kernel = "6.1.0-18-amd64""#) == ["d"])
        #expect(try hostnames(store, #"kernel > "6.1.0-18-amd64""#) == ["e", "f"])
        #expect(try hostnames(store, #"kernel in ("5.9", "10")"#) == ["a", "f"])
        #expect(try hostnames(store, #"not kernel in ("5.9", "10")"#) == ["b", "c", "d", "e"])
    }

    /// As of T: facts whose interval holds T, the kernel of the report in force, hosts not yet seen left out.
    @Test func asOfReadsHistory() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("a.sqlite"))
        _ = try store.ingest([
            Fleet.report("1", host: "h1", at: 0, kernel: "5.15.0-91-generic", pgsizes: 0x1000, labels: ["rack": "r1"]),
            Fleet.report("2", host: "h1", at: 10, kernel: "6.8.0-45-generic", pgsizes: 0x4020_1000, labels: ["rack": "r2"]),
            Fleet.report("3", host: "h2", at: 5, kernel: "6.1.0-18-amd64", pgsizes: 0x4020_1000),
        ])
        let q1g = "vfio.pgsize_1g"
        #expect(try hostnames(store, q1g) == ["h1", "h2"])
        #expect(try hostnames(store, q1g, asOf: 1) == [])          // h1 without 1 GiB pages, h2 not yet seen
        #expect(try hostnames(store, "not \(q1g)", asOf: 1) == ["h1"])
        #expect(try hostnames(store, q1g, asOf: 6) == ["h2"])
        #expect(try hostnames(store, q1g, asOf: 10) == ["h1", "h2"])  // valid_from is inclusive
        #expect(try hostnames(store, #"kernel >= "6""#, asOf: 6) == ["h2"])
        #expect(try hostnames(store, #"kernel >= "6""#, asOf: 11) == ["h1", "h2"])
        #expect(try hostnames(store, "has(kernel)", asOf: -1) == [])
        // Labels as the report in force gave them (migrations/0007), not as they are now.
        #expect(try hostnames(store, #"label.rack = "r2""#, asOf: 1) == [])
        #expect(try hostnames(store, #"label.rack = "r1""#, asOf: 1) == ["h1"])
        #expect(try hostnames(store, #"label.rack = "r2""#, asOf: 11) == ["h1"])
        #expect(try hostnames(store, #"not has(label.rack)"#, asOf: 6) == ["h2"])
        #expect(try store.queryHosts(nil, asOf: Fleet.time(1), fields: nil, limit: 10, after: nil).hosts.map(\.labels) == [["rack": "r1"]])
        let page = try store.queryHosts(nil, asOf: Fleet.time(6), fields: nil, limit: 10, after: nil)
        #expect(page.hosts.map(\.kernelRelease) == ["5.15.0-91-generic", "6.1.0-18-amd64"])
        #expect(page.hosts.map(\.reportedAt) == [Fleet.time(0), Fleet.time(5)])
    }

    @Test func pagesConcatenateToTheWholeAnswer() throws {
        let dir = try TempDir()
        let (store, _) = try Fleet.synthetic(dir, hosts: 45, days: 2, seed: 3)
        for text in ["has(iommu.vendor)", #"iommu.vendor = "intel""#, "not hw.nesting"] {
            let expr = try QueryParser.parse(text)
            let whole = try store.queryHosts(expr, asOf: nil, fields: nil, limit: 1000, after: nil)
            #expect(whole.nextCursor == nil)
            #expect(whole.hosts.count > 3)
            for limit in [1, 2, 7, whole.hosts.count, whole.hosts.count + 1] {
                let pages = try store.allPages(expr, limit: limit).map(\.hostname)
                #expect(pages == whole.hosts.map(\.hostname), "\(text) limit \(limit)")
                #expect(Set(pages).count == pages.count)
                #expect(pages == pages.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            }
            let exact = try store.queryHosts(expr, asOf: nil, fields: nil, limit: whole.hosts.count, after: nil)
            #expect(exact.nextCursor == nil, "a full last page has no next cursor")
        }
    }

    @Test func refusesBadCursorsAndLimits() throws {
        let dir = try TempDir()
        let store = try TestRegistry.open(dir.path("c.sqlite"))
        for cursor in ["", "!!", "aGVsbG8", HostCursor.encode(after: "x").dropFirst(2).description] {
            #expect(throws: HostQueryError.badCursor) { try store.queryHosts(nil, asOf: nil, fields: nil, limit: 5, after: cursor) }
        }
        for limit in [0, -1, HostQueryLimits.max + 1] {
            #expect(throws: HostQueryError.badLimit(limit)) { try store.queryHosts(nil, asOf: nil, fields: nil, limit: limit, after: nil) }
        }
        #expect(try HostCursor.decode(HostCursor.encode(after: "host-ü/+=?")) == "host-ü/+=?")
    }

    /// Cursors are base64url without padding (RFC 4648 §5): the same text Foundation's base64 gives with
    /// the two characters swapped and the padding dropped, and read back; text no encoder writes is refused.
    @Test func cursorsAreBase64URL() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<40 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let foundation = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == foundation)
            #expect(Base64URL.decode(foundation) == bytes)
        }
        for bad in ["a", "aGVsbG8=", "aGV+bG8", "aGV/bG8", "aGVsbG9", "a b", "ab\u{0}c"] {
            #expect(Base64URL.decode(bad) == nil, "\(bad)")
        }
    }

    /// EXPLAIN QUERY PLAN: hosts are read in hostname order (the keyset), every predicate is a search
    /// by key of its host's rows, and neither facts, current_facts, reports nor host_labels is scanned.
    // SQLite's planner (EXPLAIN QUERY PLAN).
    @Test(.enabled(if: TestBackend.current == .sqlite)) func plansSearchIndexes() throws {
        let dir = try TempDir()
        let (store, _) = try Fleet.synthetic(dir, hosts: 20, days: 3, seed: 1)
        let expr = try QueryParser.parse(#"pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20 and not vtd.ecap.ers"#
            + #" and label.rack in ("r0", "r1") and kernel >= "5.10" and not has(vtd.pasid_bits)"#)
        let now = HostQuerySQL.select(expr, mode: .now, after: "host-000003", limit: 101)
        let past = HostQuerySQL.select(expr, mode: .asOf(1_750_000_000_000), after: nil, limit: 101)
        let plans = [("now", try store.plan(now.sql, now.arguments)), ("as of", try store.plan(past.sql, past.arguments))]
        for (name, plan) in plans {
            // Now, the select alone (ids and hostnames) seeks hosts_by_first_level (migrations/0015) to the hosts
            // with the format asked for, in hostname order, and the entry holds every host column the expression
            // reads; as of T they are fact rows, and the hostname index serves the walk.
            let walk = name == "now" ? "COVERING INDEX hosts_by_first_level" : "INDEX sqlite_autoindex_hosts_1"
            #expect(plan.contains { $0.contains("h USING \(walk)") }, "\(name): \(plan)")
            // A list is read once per statement from its bound JSON array (LIST SUBQUERY over json_each).
            #expect(!plan.contains { $0.hasPrefix("SCAN") && !$0.hasPrefix("SCAN h USING \(walk)")
                && !$0.hasPrefix("SCAN json_each VIRTUAL TABLE") }, "\(name): \(plan)")
            let labels = name == "now" ? "host_labels_1 (host_id=? AND key=?)" : "label_set_entries_1 (set_id=? AND key=?)"
            #expect(plan.contains { $0.contains("SEARCH l USING INDEX sqlite_autoindex_\(labels)") }, "\(name): \(plan)")
        }
        #expect(plans[0].1.contains { $0.contains("SEARCH h USING COVERING INDEX hosts_by_first_level (cur_first_level_format=? AND hostname>?)") }, "\(plans[0].1)")
        #expect(plans[0].1.contains { $0.contains("SEARCH c USING INDEX sqlite_autoindex_current_facts_1 (host_id=? AND name=?)") }, "\(plans[0].1)")
        #expect(plans[1].1.contains { $0.contains("SEARCH f USING INDEX facts_host_to (host_id=? AND valid_to>?)") }, "\(plans[1].1)")
        #expect(plans[1].1.contains { $0.contains("SEARCH r USING INDEX reports_host_time (host_id=? AND collected_at<?)") }, "\(plans[1].1)")
        // The page's reads, one statement each for all its hosts: every table is searched by key, none scanned.
        let reads = [HostPageReads.reportsInForce(4, byRevision: false), HostPageReads.reportsInForce(4, byRevision: true),
                     HostPageReads.labelSetEntries(4),
                     HostPageReads.factsOf(4, from: .current, names: nil), HostPageReads.factsOf(4, from: .intervals, names: 2),
                     HostPageReads.factsOf(4, from: .saved, names: 2), HostPageReads.savedFactsOf(4)]
        for sql in reads {
            let plan = try store.plan(sql, Array(repeating: SQLValue.int(1), count: sql.filter { $0 == "?" }.count))
            #expect(plan.allSatisfy { $0.hasPrefix("SEARCH") || $0.hasPrefix("CORRELATED") || $0.hasPrefix("USE TEMP B-TREE") }, "\(sql): \(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(sql): \(plan)")
        }
        // Freshness: the matches keep their walk; stale hosts are found by the last_seen range of hosts_count
        // (which holds the key facts), not by walking the whole fleet in hostname order, nor every matching host.
        let fresh = HostQuerySQL.select(expr, mode: .now, after: nil, limit: 101, filter: HostQuerySQL.Filter(freshSince: 5))
        #expect(try store.plan(fresh.sql, fresh.arguments).contains { $0.contains("SEARCH h USING INDEX hosts_by_first_level (cur_first_level_format=?)") })
        let stale = HostQuerySQL.select(expr, mode: .now, after: nil, limit: 101, filter: HostQuerySQL.Filter(freshSince: 5, stale: true))
        let stalePlan = try store.plan(stale.sql, stale.arguments)
        #expect(stalePlan.contains { $0.contains("SEARCH h USING INDEX hosts_count (last_seen<?)") }, "\(stalePlan)")
        // Now, a page statement also reads each host's kernel, state time and key facts, and for whole hosts
        // the stored object (by its key, for the rows returned): the same walk, nothing scanned; after a
        // cursor it starts at the cursor's hostname within the format.
        for fields: Set<String>? in [nil, ["pasid_bits", "vtd.ecap.nest"]] {
            let columns = HostPageReads.NowColumns(fields: fields).columns
            let page = HostQuerySQL.select(expr, mode: .now, after: "host-000003", limit: 101, columns: columns)
            let plan = try store.plan(page.sql, page.arguments)
            #expect(plan.contains { $0.contains("SEARCH h USING INDEX hosts_by_first_level (cur_first_level_format=? AND hostname>?)") }, "\(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN") && !$0.hasPrefix("SCAN json_each VIRTUAL TABLE") }, "\(plan)")
            if fields == nil { #expect(plan.contains { $0.contains("SEARCH j USING") }, "\(plan)") }
        }
        // Current facts come back in key order, with no sort step.
        #expect(!(try store.plan(HostPageReads.factsOf(4, from: .current, names: nil), Array(repeating: .int(1), count: 4)))
            .contains { $0.contains("TEMP B-TREE") })
    }
}
