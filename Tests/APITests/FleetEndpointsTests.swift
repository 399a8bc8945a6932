import API
import Decoders
import Foundation
import Query
import Server
import Store
import StoreSQLite
import Testing
import Timestamps
@testable import Synthetic

@Suite("changes, kernels, capabilities, stats, probes, metrics")
struct FleetEndpointsTests {
    static let fleet = SyntheticFleet(hosts: 25, days: 5)

    @Test("changes: per host, facts gained/lost/changed with kernel before and after; where filters on the state at until")
    func changes() throws {
        let t = try TestAPI()
        try t.pushFleet(Self.fleet)
        let since = Self.fleet.start.addingTimeInterval(86_400 * 1.5), until = Self.fleet.start.addingTimeInterval(86_400 * 4.5)
        let base = "/v1/changes?since=\(q(RFC3339.format(since)))&until=\(q(RFC3339.format(until)))"
        let response = try t.get(base + "&limit=1000")
        #expect(response.status == 200)
        let hosts = try #require(response.json["hosts"] as? [[String: Any]])
        let direct = try t.store.changes(from: since, to: until)
        #expect(hosts.map { $0["hostname"] as? String } == direct.map(\.hostname))
        #expect(!hosts.isEmpty)
        for (host, change) in zip(hosts, direct) {
            #expect(host["kernel_before"] as? String == change.kernelBefore)
            #expect(host["kernel_after"] as? String == change.kernelAfter)
            #expect((host["changes"] as? [[String: Any]])?.map { $0["name"] as? String } == change.changes.map(\.name))
        }
        // Pages concatenate.
        var paged: [String] = []
        var cursor: String?
        repeat {
            let page = try t.get(base + "&limit=2" + (cursor.map { "&cursor=\(q($0))" } ?? ""))
            paged += (page.json["hosts"] as? [[String: Any]] ?? []).compactMap { $0["hostname"] as? String }
            cursor = page.json["next_cursor"] as? String
        } while cursor != nil
        #expect(paged == direct.map(\.hostname))
        // where: hosts whose state at `until` has nesting.
        let nesting = try t.get(base + "&limit=1000&where=nesting")
        let atUntil = Set(try t.store.queryHosts(try QueryParser.parse("nesting"), asOf: until, fields: [], limit: 1000, after: nil).hosts.map(\.hostname))
        let filtered = (nesting.json["hosts"] as? [[String: Any]] ?? []).compactMap { $0["hostname"] as? String }
        #expect(filtered == direct.map(\.hostname).filter { atUntil.contains($0) })
        #expect(filtered.count < direct.count)
        #expect(try t.get("/v1/changes").status == 400)  // since is required
        #expect(try t.get(base.replacingOccurrences(of: "since=", with: "since=2099-01-01&x=")).status == 400)
    }

    @Test("kernels: hosts per release and how many support the key capabilities, in version order")
    func kernels() throws {
        let t = try TestAPI()
        try t.pushFleet(Self.fleet)
        let response = try t.get("/v1/kernels")
        let kernels = try #require(response.json["kernels"] as? [[String: Any]])
        let hosts = try t.store.hosts()
        #expect(kernels.reduce(0) { $0 + ($1["hosts"] as? Int ?? 0) } == hosts.count)
        for k in kernels {
            let release = try #require(k["release"] as? String)
            let on = hosts.filter { $0.kernelRelease == release }
            #expect(k["hosts"] as? Int == on.count)
            #expect(k["nesting"] as? Int == on.filter { $0.facts.contains(Fact("nesting", true)) }.count)
            #expect(k["pasid_bind"] as? Int == on.filter { $0.facts.contains(Fact("pasid_bind", true)) }.count)
        }
        let releases = kernels.compactMap { $0["release"] as? String }
        #expect(releases == releases.sorted { KernelRelease($0) < KernelRelease($1) })
        let first = try t.get("/v1/kernels?limit=1")
        let next = try #require(first.json["next_cursor"] as? String)
        let second = try t.get("/v1/kernels?limit=1&cursor=\(q(next))")
        #expect((second.json["kernels"] as? [[String: Any]])?.first?["release"] as? String == releases[1])
    }

    @Test("capabilities: the whole vocabulary with types, paged")
    func capabilities() throws {
        let t = try TestAPI()
        var names: [String] = []
        var cursor: String?
        repeat {
            let page = try t.get("/v1/capabilities?limit=50" + (cursor.map { "&cursor=\(q($0))" } ?? ""))
            for item in page.json["capabilities"] as? [[String: Any]] ?? [] {
                let name = try #require(item["name"] as? String)
                #expect(item["type"] as? String == Vocabulary.byName[name]?.type.rawValue)
                names.append(name)
            }
            cursor = page.json["next_cursor"] as? String
        } while cursor != nil
        #expect(names == Vocabulary.byName.keys.sorted())
    }

    @Test("stats, healthz, readyz")
    func statsAndProbes() throws {
        let t = try TestAPI()
        try t.pushFleet(Self.fleet)
        let stats = try t.get("/v1/stats").json
        #expect(stats["hosts"] as? Int == (try t.store.hosts().count))
        #expect(stats["reports"] as? Int == (try t.store.reportCount()))
        // Nothing deleted, so the newest report row is the report count; the hosts answer says the same.
        #expect(stats["revision"] as? Int == (try t.store.reportCount()))
        #expect(try t.get("/v1/hosts?limit=1").json["revision"] as? Int == stats["revision"] as? Int)
        #expect((stats["database_bytes"] as? Int ?? 0) > 0)
        #expect(try t.get("/healthz", token: nil).json["status"] as? String == "ok")
        let ready = try t.get("/readyz", token: nil)
        #expect(ready.status == 200)
        #expect(ready.json["migrations"] as? Int == Migration.sqlite.count)
    }

    @Test("metrics: Prometheus text with requests by route and class, latency buckets, ingests, errors, database size")
    func metrics() throws {
        let t = try TestAPI()
        let report = try #require(Self.fleet.report(host: 0, day: 0))
        _ = try t.push([report])
        _ = try t.push([report])
        _ = try t.get("/v1/hosts?where=\(q("pasid_bits >="))")
        _ = try t.get("/nowhere")
        let response = try t.get("/metrics", token: TestAPI.readerToken)
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        var samples: [String: Double] = [:]
        for line in response.text.split(separator: "\n") {
            if line.hasPrefix("#") {
                #expect(line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE "))
                continue
            }
            // name{labels} value  or  name value
            let match = line.wholeMatch(of: /([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|\+Inf|NaN)/)
            #expect(match != nil, "not an exposition line: \(line)")
            if let match { samples[String(match.1) + String(match.2 ?? "")] = Double(match.3) }
        }
        #expect(samples["capreg_http_requests_total{route=\"/v1/reports\",status=\"2xx\"}"] == 2)
        #expect(samples["capreg_http_requests_total{route=\"/v1/hosts\",status=\"4xx\"}"] == 1)
        #expect(samples["capreg_http_requests_total{route=\"unmatched\",status=\"4xx\"}"] == 1)
        #expect(samples["capreg_http_request_duration_seconds_count{route=\"/v1/reports\"}"] == 2)
        #expect(samples["capreg_http_request_duration_seconds_bucket{route=\"/v1/reports\",le=\"+Inf\"}"] == 2)
        #expect(samples["capreg_ingested_reports_total{outcome=\"created\"}"] == 1)
        #expect(samples["capreg_ingested_reports_total{outcome=\"duplicate\"}"] == 1)
        #expect(samples["capreg_api_errors_total{code=\"query_syntax\"}"] == 1)
        #expect(samples["capreg_api_errors_total{code=\"not_found\"}"] == 1)
        #expect((samples["capreg_database_size_bytes"] ?? 0) > 0)
        #expect(samples["capreg_http_connections_accepted_total"] != nil)
    }

    @Test("unknown route 404, wrong method 405 with Allow, both in the error shape")
    func routing() throws {
        let t = try TestAPI()
        let missing = try t.get("/v2/hosts")
        #expect(missing.status == 404)
        #expect(missing.error["code"] as? String == "not_found")
        let wrong = try t.client().request("DELETE", "/v1/hosts")
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow") == "GET, HEAD")
        let getReports = try t.get("/v1/reports")
        #expect(getReports.status == 405)
        #expect(getReports.header("Allow") == "POST")
        #expect(getReports.error["code"] as? String == "method_not_allowed")
    }
}

