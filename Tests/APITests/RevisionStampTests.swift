import API
import Foundation
import Report
import Server
import Store
import StoreSQLite
import Testing
import Timestamps
@testable import Synthetic

/// Every answer carries the revision it was computed at: host detail, history, changes and kernels say the
/// same revision as GET /v1/stats, and move on with it when one more report is stored.
@Suite("revision stamps on host detail, history, changes and kernels")
struct RevisionStampTests {
    @Test("each answer's revision is the registry's, and advances after one more report")
    func stampsFollowTheRegistry() throws {
        let t = try TestAPI()
        let fleet = SyntheticFleet(hosts: 12, days: 4, seed: 5)
        var early: [Report] = []
        for day in 0..<3 { for host in 0..<fleet.hosts { if let r = fleet.report(host: host, day: day) { early.append(r) } } }
        let pushed = try t.push(early)
        #expect(pushed.status == 200)
        let stored = try #require(((pushed.json["results"] as? [[String: Any]]) ?? []).compactMap { $0["revision"] as? Int }.max())
        // One newer report of a host the registry already knows, so its detail and history answer before and after.
        let known = Set(early.map(\.host.hostname))
        // A label of its own: a report that only repeated the host's current one would be a heartbeat (no revision).
        var more = try #require((0..<fleet.hosts).lazy.compactMap { fleet.report(host: $0, day: 3) }.first { known.contains($0.host.hostname) })
        let host = q(more.host.hostname)
        let window = "since=\(q(RFC3339.format(fleet.start)))&until=\(q(RFC3339.format(fleet.start.addingTimeInterval(5 * 86_400))))"
        let paths = ["/v1/hosts/\(host)", "/v1/hosts/\(host)/history", "/v1/changes?\(window)", "/v1/kernels"]

        func expectStamps(_ revision: Int) throws {
            #expect(try t.get("/v1/stats").json["revision"] as? Int == revision)
            for path in paths {
                let r = try t.get(path)
                #expect(r.status == 200, "\(path): \(r.text.prefix(300))")
                #expect(r.json["revision"] as? Int == revision, "\(path)")
                // First member, as in GET /v1/hosts.
                let head = String(r.text.prefix(40))
                #expect(head.hasPrefix("{\"revision\":\(revision),"), "\(path)")
            }
        }
        more.host.labels["stamp"] = "1"
        try expectStamps(stored)
        #expect(try t.push([more]).status == 200)
        try expectStamps(stored + 1)
    }
}
