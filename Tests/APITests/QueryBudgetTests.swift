import Foundation
import Glibc
import Report
import Store
import StoreSQLite
import Testing
import TestSupport
@testable import API
@testable import Synthetic

/// Queries cannot stall the registry: a list past its bound is refused before the store sees it, a read
/// past the CPU budget stops with 400 query_budget_exceeded, and a read whose client hung up stops.
@Suite(.serialized) struct QueryBudgetTests {
    static func metric(_ t: TestAPI, _ reason: String) throws -> Int {
        let text = try t.get("/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix("capreg_queries_interrupted_total{reason=\"\(reason)\"}") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
    }

    /// A store with `hosts` synthetic hosts over two days, ingested directly (faster than pushing).
    static func filled(_ t: TestAPI, hosts: Int) throws -> SyntheticFleet {
        let fleet = SyntheticFleet(hosts: hosts, days: 2, seed: 3)
        var reports: [Report] = []
        fleet.forEachReport { reports.append($0) }
        _ = try t.store.ingest(reports)
        return fleet
    }

    /// An as-of question every host must be examined for, several lookups each.
    static let heavy = "/v1/hosts?limit=1000&totals=true&explain=true&as_of=2025-01-02T12:00:00Z&where="
        + q(#"label.rack in ("r1", "r2", "r3") or kernel in ("5.4", "6.1", "6.8") or pasid_bits >= 20 or not has(vtd.ecap.ers)"#)

    @Test func aListPastItsBoundIsA400NamingIt() throws {
        let t = try TestAPI()
        let list = Array(repeating: "\"6\"", count: 1000).joined(separator: ",")
        let response = try t.get("/v1/hosts?where=" + q("kernel in (\(list))"))
        #expect(response.status == 400, "\(response.text.prefix(300))")
        #expect(response.error["code"] as? String == "query_too_long")
        #expect(response.error["parameter"] as? String == "where")
        #expect((response.error["message"] as? String)?.contains("the limit is 256") == true, "\(response.text.prefix(300))")
        // The same list on the change feed and the dashboard's query page.
        #expect(try t.get("/v1/changes?since=2025-01-01T00:00:00Z&where=" + q("kernel in (\(list))")).status == 400)
        #expect(try t.get("/ui/query?where=" + q("kernel in (\(list))")).status == 400)
    }

    @Test func aReadPastTheBudgetIsA400NamingItAndCounted() throws {
        let t = try TestAPI(queryBudget: .milliseconds(1))
        _ = try Self.filled(t, hosts: 400)
        let response = try t.get(Self.heavy)
        #expect(response.status == 400, "\(response.text.prefix(300))")
        #expect(response.error["code"] as? String == "query_budget_exceeded")
        let message = response.error["message"] as? String ?? ""
        #expect(message.contains("query budget of 1ms") && message.contains("--query-budget"), "\(message)")
        #expect(response.error["budget"] as? String == "1ms")
        // The dashboard too. Its read must be well past 1 ms of CPU on any machine: every host of the fleet,
        // each tested for twelve facts and with twelve fact columns read (a read of about 1 ms here was answered
        // within the budget one run in three).
        let names = ["vtd.cap.nd", "vtd.cap.afl", "vtd.cap.rwbf", "vtd.cap.plmr", "vtd.cap.phmr", "vtd.cap.cm", "vtd.cap.sagaw",
                     "vtd.cap.mgaw", "vtd.cap.zlr", "vtd.cap.isoch", "vtd.cap.fro", "vtd.cap.sllps"]
        let dashboard = "/ui/query?limit=1000&fields=" + q(names.joined(separator: ",")) + "&where="
            + q(names.map { "not has(\($0))" }.joined(separator: " or ") + " or not has(vtd.ecap.ers) or pasid_bits >= 1")
        let refused = try t.get(dashboard)
        #expect(refused.status == 400 && refused.text.contains("query budget"), "the dashboard too: \(refused.text.prefix(300))")
        #expect(try t.get("/healthz", token: nil).status == 200)
        #expect(try Self.metric(t, "budget") == 2)
        #expect(try Self.metric(t, "client_gone") == 0)
        #expect(try t.get("/metrics").text.contains("capreg_api_errors_total{code=\"query_budget_exceeded\"} 2"))
    }

    @Test func theSameQueryWithinTheDefaultBudgetAnswers() throws {
        let t = try TestAPI()
        _ = try Self.filled(t, hosts: 400)
        let response = try t.get(Self.heavy)
        #expect(response.status == 200, "\(response.text.prefix(300))")
        #expect(try Self.metric(t, "budget") == 0)
    }

    /// The client sends its question and hangs up while the question waits for a read slot: once it gets
    /// one, the read stops at its first check instead of running for nobody.
    @Test func aReadWhoseClientHungUpStops() throws {
        let t = try TestAPI()
        _ = try Self.filled(t, hosts: 400)
        let slots = ReadGateTests.HeldSlots(t.api)
        let fd = try Self.connect(port: t.server.port)
        let head = "GET \(Self.heavy) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestAPI.adminToken)\r\n\r\n"
        #expect(Array(head.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } == head.utf8.count)
        Thread.sleep(forTimeInterval: 0.5)  // the server has read the request; its handler waits for a slot
        close(fd)
        Thread.sleep(forTimeInterval: 0.2)
        slots.release()
        var counted = -1
        for _ in 0..<100 where counted != 1 {
            Thread.sleep(forTimeInterval: 0.05)
            counted = try Self.metric(t, "client_gone")
        }
        #expect(counted == 1)
        #expect(try Self.metric(t, "budget") == 0)
    }

    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        return fd
    }
}
