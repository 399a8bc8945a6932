import Collector
import Foundation
import RegistryClient
import Report
import Testing
import TestSupport

/// The collector's host identity: the configured name, else the system's; a name the registry would refuse
/// is refused here, never replaced (by localhost, the machine id or anything else).
@Suite struct HostIdentityTests {
    static let shared = ["", "   ", "localhost", "LOCALHOST", "localhost.", "localhost.localdomain", "localhost6.localdomain6",
                         "ip6-localhost", "(none)"]

    @Test func theConfiguredNameWinsElseTheSystemsIsUsed() throws {
        #expect(try HostIdentity.resolve(configured: "rack12-node07", system: "localhost") == "rack12-node07")
        #expect(try HostIdentity.resolve(configured: nil, system: "rack12-node07") == "rack12-node07")
        #expect(try HostIdentity.resolve(configured: "rack12-node07", system: nil) == "rack12-node07")
    }

    @Test("a shared or empty system hostname is refused, with the way out, even when a machine id exists")
    func sharedSystemNamesAreRefused() throws {
        for name in Self.shared {
            do {
                _ = try HostIdentity.resolve(configured: nil, system: name)
                Issue.record("accepted the system hostname \"\(name)\"")
            } catch {
                #expect(error.description.hasPrefix("no usable host identity: the system hostname: "), "\(error)")
                #expect(error.description.contains("--hostname NAME or `hostname = NAME`"))
                // The registry's rule, in its words.
                #expect(error.description.contains(try #require(Report.hostnameProblem(name))))
            }
        }
        #expect(throws: HostIdentity.Unusable.self) { try HostIdentity.resolve(configured: nil, system: nil) }
    }

    @Test("a configured name the registry would refuse is refused, not replaced by the system's")
    func sharedConfiguredNamesAreRefused() {
        for name in Self.shared {
            #expect(throws: HostIdentity.Unusable.self, "\(name)") { try HostIdentity.resolve(configured: name, system: "rack12-node07") }
        }
    }

    @Test("the collector refuses exactly the names the registry refuses")
    func sameRuleAsTheRegistry() {
        for name in Self.shared + ["rack12-node07", "localhost-builder", "node.localdomain", "h"] {
            let collector = (try? HostIdentity.resolve(configured: name, system: nil)) != nil
            #expect(collector == (Report.hostnameProblem(name) == nil), "\(name)")
        }
    }

    @Test("without a usable name no report is made or spooled, and --once says 68")
    func agentMakesNoReport() throws {
        let dir = try TempDir()
        var o = Collector.Options()
        o.sysfsRoot = Fixtures.capture("legacy-aw39").appendingPathComponent("sysfs").path
        o.machineIDPath = dir.path("machine-id")
        try "3d1219c7c4c5404aaa1f6d2a48adfda4\n".write(toFile: o.machineIDPath, atomically: true, encoding: .utf8)
        o.hostname = "localhost"
        #expect(throws: HostIdentity.Unusable.self) { try Collector(options: o).collect() }
        let sink = try TestSink()
        let spool = try Spool(directory: dir.path("spool"))
        let log = Lines()
        let agent = Agent(collector: Collector(options: o), delivery: Delivery(spool: spool, client: try APIClient(baseURL: sink.url, token: nil),
                                                                               log: { log.append($0) }),
                          log: { log.append($0) })
        #expect(agent.once(maxFailures: 1) == .noIdentity)
        #expect(Agent.Status.noIdentity.rawValue == 68)
        #expect(spool.pending().isEmpty && sink.requests == 0)
        #expect(log.all.contains { $0.hasPrefix("ERROR no usable host identity") }, "\(log.all)")
        // With a name, the same collector reports, machine id alongside.
        o.hostname = "rack12-node07"
        let report = try Collector(options: o).collect()
        #expect(report.host.hostname == "rack12-node07" && report.host.machineId == "3d1219c7c4c5404aaa1f6d2a48adfda4")
    }
}
