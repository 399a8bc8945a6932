import API
import Decoders
import Foundation
import Report
import Store
import Testing
import TestSupport
import RegistryClient
@testable import Synthetic

/// Devices through the API: a host's detail lists them, devices(…) asks them now and is refused over
/// history, and GET /v1/exports/dra pages every fresh host's slices once, for readers only.
@Suite("API: devices and DRA")
struct DevicesEndpointTests {
    static func fleet() -> SyntheticFleet {
        var f = SyntheticFleet(hosts: 30, days: 2, seed: 7)
        f.devices = true
        return f
    }

    @Test func detailQueryAndRefusals() throws {
        let t = try TestAPI()
        try t.pushFleet(Self.fleet())
        let hosts = try t.get("/v1/hosts?where=" + q("devices(device.pasid.bits >= 16) >= 2") + "&limit=1000").json["hosts"] as? [[String: Any]] ?? []
        #expect(!hosts.isEmpty)
        let name = try #require(hosts.first?["hostname"] as? String)
        let detail = try t.get("/v1/hosts/\(q(name))")
        let devices = try #require(detail.json["devices"] as? [[String: Any]])
        let stored = try t.store.currentDevices(hostname: name)
        #expect(devices.map { $0["bdf"] as? String } == stored.map(\.bdf))
        let wide = devices.filter { (($0["facts"] as? [String: Any])?["device.pasid.bits"] as? Int ?? 0) >= 16 }
        #expect(wide.count >= 2)

        for (target, parameter) in [("/v1/hosts?as_of=2025-01-02T00:00:00Z&where=" + q("devices(device.ats) >= 1"), "where"),
                                    ("/v1/watch?since=0&wait=0&where=" + q("devices(device.ats)"), "where"),
                                    ("/v1/changes?since=2025-01-01T00:00:00Z&where=" + q("devices(device.ats)"), "where"),
                                    ("/v1/hosts?where=" + q("device.ats"), "where"),
                                    ("/v1/exports/dra?driver=Not_A_Driver", "driver"),
                                    ("/v1/exports/dra?node=" + q("not a node"), "node"),
                                    ("/v1/exports/dra?node=host-000001&cursor=x", "cursor"),
                                    ("/v1/exports/dra?limit=1001", "limit")] {
            let r = try t.get(target)
            #expect(r.status == 400 && r.error["parameter"] as? String == parameter, "\(target): \(r.status) \(r.text.prefix(200))")
        }
        #expect(try t.get("/v1/exports/dra", token: TestAPI.collectorToken).status == 403)
        #expect(try t.get("/v1/exports/dra", token: nil).status == 401)
    }

    @Test func draPagesCoverEveryFreshHostOnce() throws {
        let t = try TestAPI()
        try t.pushFleet(Self.fleet())
        var nodes: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let r = try t.get("/v1/exports/dra?limit=7" + (cursor.map { "&cursor=" + q($0) } ?? ""), token: TestAPI.readerToken)
            #expect(r.status == 200 && r.json["kind"] as? String == "List")
            let items = r.json["items"] as? [[String: Any]] ?? []
            nodes += items.map { (($0["spec"] as? [String: Any])?["nodeName"] as? String) ?? "" }
            cursor = (r.json["metadata"] as? [String: Any])?["continue"] as? String
            pages += 1
        } while cursor != nil && pages < 50
        let withDevices = (try t.get("/v1/hosts?where=" + q("devices.count >= 1") + "&limit=1000").json["hosts"] as? [[String: Any]] ?? [])
            .map { $0["hostname"] as! String }
        #expect(pages > 2 && nodes == withDevices && Set(nodes).count == nodes.count)
        // One node; a filter; the same slice either way.
        let one = try t.get("/v1/exports/dra?node=\(q(nodes[0]))")
        let items = one.json["items"] as? [[String: Any]] ?? []
        #expect(items.count == 1 && ((items[0]["spec"] as? [String: Any])?["nodeName"] as? String) == nodes[0])
        let nesting = (try t.get("/v1/hosts?where=nesting&limit=1000").json["hosts"] as? [[String: Any]] ?? []).map { $0["hostname"] as! String }
        let filtered = (try t.get("/v1/exports/dra?where=nesting&limit=1000").json["items"] as? [[String: Any]] ?? [])
            .map { (($0["spec"] as? [String: Any])?["nodeName"] as? String) ?? "" }
        #expect(filtered == nesting.filter(withDevices.contains))
        // Stale hosts publish nothing (fresh_within shorter than the fixtures' age).
        #expect((try t.get("/v1/exports/dra?fresh_within=1h").json["items"] as? [Any])?.isEmpty == true)
    }

    /// A device rebound to another driver changes no host fact, but it is a change: the stream says which device.
    @Test func aDeviceOnlyChangeIsAnEvent() throws {
        let t = try TestAPI()
        var first = SyntheticDevice(bdf: "0000:3b:00.0")
        first.pasidBits = 20
        let second = SyntheticDevice(bdf: "0000:3b:00.1")
        func report(_ id: String, _ devices: [SyntheticDevice], minutes: Double) -> Report {
            Report(reportId: id, collectedAt: Date().addingTimeInterval(-3600 + minutes * 60), host: Report.Host(hostname: "dev-host"),
                   kernel: Report.Kernel(release: "6.12.9-amd64"), collectorVersion: "capreg-collector 0.3.0", sources: devices.map(\.source))
        }
        #expect(try t.push([report("d1", [first, second], minutes: 0)]).status == 200)
        let head = try t.get("/v1/watch?since=0&wait=0").json["events"] as? [[String: Any]] ?? []
        let since = head.last?["id"] as? Int ?? 0
        var rebound = first
        rebound.driver = "nvme"
        #expect(try t.push([report("d2", [rebound, second], minutes: 1)]).status == 200)
        let events = try t.get("/v1/watch?since=\(since)&wait=0").json["events"] as? [[String: Any]] ?? []
        #expect(events.count == 1 && events.first?["kind"] as? String == "changed")
        #expect(events.first?["devices"] as? [String] == ["0000:3b:00.0"] && (events.first?["changes"] as? [Any])?.isEmpty == true)
        let devices = try t.store.currentDevices(hostname: "dev-host")
        #expect(devices.first?[PCIDevice.driver] == .text("nvme"))
        // The same report again: no event.
        #expect(try t.push([report("d3", [rebound, second], minutes: 2)]).status == 200)
        #expect((try t.get("/v1/watch?since=\(since)&wait=0").json["events"] as? [Any])?.count == 1)
    }
}
