import Decoders
import Foundation
import Query
import Report
@testable import Store
import StoreSQLite
import Testing
import TestSupport

/// `term in (…)` is one set lookup (a bound JSON array through json_each): it lists exactly the hosts
/// the same question written as a chain of `or` lists, now and as of a time, and as many as the
/// reference evaluator finds.
@Suite struct ListQueryTests {
    @Test func aLongKernelListMatchesTheSameHostsAsItsOrChain() throws {
        let dir = try TempDir()
        let (store, fleet) = try Fleet.synthetic(dir, hosts: 60, days: 3, seed: 7)
        let all = try store.queryHosts(nil, limit: 1000)
        let kernels = Set(all.hosts.compactMap(\.kernelRelease)).sorted()
        #expect(kernels.count >= 2)
        // Real releases (exact, with their flavour), their series at every depth, and 150 that match nothing.
        var entries: [String] = []
        for k in kernels {
            let release = KernelRelease(k)
            entries += [k, "\(release.major)", "\(release.major).\(release.minor)", "\(release.major).\(release.minor).\(release.patch)"]
        }
        entries += (0..<150).map { "4.\($0).\($0 % 7)" }
        entries = Array(entries.prefix(200))
        let list = entries.map { "\"\($0)\"" }.joined(separator: ", ")
        let chain = entries.map { "kernel = \"\($0)\"" }.joined(separator: " or ")
        let asOf = fleet.start.addingTimeInterval(86_400 * 1.5)
        for at in [nil, asOf] {
            let inList = try store.queryHosts(try QueryParser.parse("kernel in (\(list))"), asOf: at, limit: 1000).hosts.map(\.hostname)
            let orChain = try store.queryHosts(try QueryParser.parse(chain), asOf: at, limit: 1000).hosts.map(\.hostname)
            #expect(!inList.isEmpty && inList == orChain, "as of \(String(describing: at))")
            let notIn = try store.queryHosts(try QueryParser.parse("kernel not in (\(list))"), asOf: at, limit: 1000).hosts.map(\.hostname)
            let notChain = try store.queryHosts(try QueryParser.parse("not (\(chain))"), asOf: at, limit: 1000).hosts.map(\.hostname)
            #expect(notIn == notChain, "as of \(String(describing: at))")
        }
        // One series only: exactly the hosts whose kernel the evaluator puts in it.
        let series = "\(KernelRelease(kernels[0]).major).\(KernelRelease(kernels[0]).minor)"
        let expr = try QueryParser.parse("kernel in (\"\(series)\", \"1.2.3-none\")")
        let found = try store.queryHosts(expr, limit: 1000).hosts.map(\.hostname)
        let expected = all.hosts.filter { host in
            QueryEvaluator(facts: [:], kernelRelease: host.kernelRelease, labels: host.labels).matches(expr)
        }.map(\.hostname)
        #expect(!found.isEmpty && found == expected)
    }

    /// A change page's byte bound counts what the API writes of each host: its labels (64 of up to 320
    /// bytes each) and the writer of the report in force, not only its changed facts.
    @Test func aChangedHostsBytesCountItsLabelsAndWriter() throws {
        let dir = try TempDir()
        let (store, fleet) = try Fleet.synthetic(dir, hosts: 3, days: 2, seed: 5)
        let page = try store.changePage(from: fleet.start.addingTimeInterval(-3600), to: fleet.start.addingTimeInterval(3 * 86_400),
                                        after: nil, limit: 10, scanBudget: 100)
        var host = try #require(page.hosts.first)
        let bare = host.jsonBytes
        host.labels = Dictionary(uniqueKeysWithValues: (0..<64).map { ("k\($0)", String(repeating: "v", count: 256)) })
        #expect(host.jsonBytes - bare >= 64 * 256)
        host.source = ReportSource(reportId: String(repeating: "r", count: 100), writtenBy: String(repeating: "w", count: 80), peer: "10.0.0.1")
        #expect(host.jsonBytes - bare >= 64 * 256 + 180)
    }

    @Test func textAndLabelListsAreOneBoundArray() throws {
        let expr = try QueryParser.parse("label.rack in (" + (0..<200).map { "\"r\($0)\"" }.joined(separator: ",") + ")")
        for mode in [HostQuerySQL.Mode.now, .asOf(1_750_000_000_000)] {
            let compiled = HostQuerySQL.select(expr, mode: mode, after: nil, limit: 10)
            #expect(compiled.arguments.count < 10, "one argument for the list, not one per entry: \(compiled.arguments.count)")
            #expect(compiled.sql.contains("json_each(?)"))
        }
    }
}

/// A page of hosts ends early, with its cursor, once its facts pass the byte bound; the pages still
/// concatenate to the whole answer.
@Suite struct PageBytesTests {
    @Test func aPageEndsAtItsByteBoundAndThePagesStillCoverEveryHost() throws {
        let dir = try TempDir()
        let (store, _) = try Fleet.synthetic(dir, hosts: 30, days: 1, seed: 5)
        let whole = try store.answer(HostQueryRequest(nil, limit: 1000)).matches
        #expect(whole.hosts.count == 30 && whole.nextCursor == nil)
        let perHost = whole.hosts.map { $0.factsJSON.utf8.count + $0.hostname.utf8.count + 200 }
        var request = HostQueryRequest(nil, limit: 1000)
        request.maxPageBytes = perHost.prefix(10).reduce(0, +) - 1  // the tenth host passes it
        var seen: [String] = []
        var pages = 0
        repeat {
            let page = try store.answer(request).matches
            #expect(pages > 0 || page.hosts.count == 10, "the first page stops at the host that passes the bound")
            seen += page.hosts.map(\.hostname)
            pages += 1
            request.cursor = page.nextCursor
        } while request.cursor != nil && pages < 30
        #expect(pages >= 3 && seen == whole.hosts.map(\.hostname))
    }
}

/// The change feed's pages end at their byte bound too, and still concatenate to the whole feed.
@Suite struct ChangePageBytesTests {
    @Test func aChangePageEndsAtItsByteBound() throws {
        let dir = try TempDir()
        let (store, fleet) = try Fleet.synthetic(dir, hosts: 30, days: 3, seed: 5)
        let (from, to) = (fleet.start.addingTimeInterval(-3600), fleet.start.addingTimeInterval(4 * 86_400))
        let whole = try store.changePage(from: from, to: to, after: nil, limit: 1000, scanBudget: 4100)
        #expect(whole.hosts.count >= 20 && whole.nextAfter == nil)
        let bound = whole.hosts[0].jsonBytes + whole.hosts[1].jsonBytes - 1
        var seen: [String] = []
        var after: String?
        var pages = 0
        repeat {
            let page = try store.changePage(from: from, to: to, after: after, limit: 1000, scanBudget: 4100, maxBytes: bound)
            let before = page.hosts.dropLast().reduce(0) { $0 + $1.jsonBytes }
            #expect(before <= bound, "only the host that passes the bound may pass it, and it is the page's last")
            #expect(pages > 0 || page.hosts.count == 2)
            seen += page.hosts.map(\.change.hostname)
            after = page.nextAfter
            pages += 1
        } while after != nil && pages < 40
        #expect(pages >= 3 && seen == whole.hosts.map(\.change.hostname))
    }
}
