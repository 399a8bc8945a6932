import API
import Foundation
import Query
import Report
import Server
import Store
import StoreSQLite
import Testing
import Timestamps
import RegistryClient
@testable import Synthetic

@Suite("GET /v1/hosts and /v1/hosts/{host}")
struct HostsEndpointTests {
    static let fleet = SyntheticFleet(hosts: 30, days: 4)

    static func server() throws -> TestAPI {
        let t = try TestAPI()
        try t.pushFleet(fleet)
        return t
    }

    func names(_ response: APIClient.Response) -> [String] {
        (response.json["hosts"] as? [[String: Any]] ?? []).compactMap { $0["hostname"] as? String }
    }

    @Test("pages of limit N concatenate to the one-page answer, in hostname order")
    func pagination() throws {
        let t = try Self.server()
        let expr = q("nesting or iommu.vendor = \"intel\"")
        let whole = try t.get("/v1/hosts?where=\(expr)&limit=1000")
        #expect(whole.status == 200)
        let all = names(whole)
        #expect(all.count > 5)
        #expect(all == all.sorted())
        var paged: [String] = []
        var cursor: String?
        repeat {
            let response = try t.get("/v1/hosts?where=\(expr)&limit=4" + (cursor.map { "&cursor=\(q($0))" } ?? ""))
            #expect(response.status == 200)
            #expect(names(response).count <= 4)
            paged += names(response)
            cursor = response.json["next_cursor"] as? String
        } while cursor != nil
        #expect(paged == all)
    }

    @Test("where, fields and as_of narrow the answer as the store does")
    func whereFieldsAsOf() throws {
        let t = try Self.server()
        let response = try t.get("/v1/hosts?where=\(q("pasid_bind and pasid_bits >= 20"))&fields=pasid_bits,label.pool")
        let hosts = try #require(response.json["hosts"] as? [[String: Any]])
        let direct = try t.store.queryHosts(try QueryParser.parse("pasid_bind and pasid_bits >= 20"), asOf: nil, fields: nil,
                                            limit: 1000, after: nil)
        #expect(hosts.map { $0["hostname"] as? String } == direct.hosts.map(\.hostname))
        for host in hosts {
            let facts = try #require(host["facts"] as? [String: Any])
            #expect(Array(facts.keys) == ["pasid_bits"])  // only the asked fact; labels always come along
            #expect((facts["pasid_bits"] as? Int ?? 0) >= 20)
            #expect(host["labels"] is [String: Any])
        }
        // as_of before any report: nobody existed yet.
        let before = try t.get("/v1/hosts?as_of=2000-01-01T00:00:00Z")
        #expect(before.status == 200)
        #expect(names(before).isEmpty)
        #expect(before.json["as_of"] as? String == "2000-01-01T00:00:00.000Z")
        let asOf = Self.fleet.start.addingTimeInterval(86_400 + 43_200)
        let day2 = try t.get("/v1/hosts?as_of=\(q(RFC3339.format(asOf)))&limit=1000")
        let expected = try t.store.queryHosts(nil, asOf: asOf, fields: [], limit: 1000, after: nil).hosts.map(\.hostname)
        #expect(names(day2) == expected)
    }

    @Test("fields= accepts every name an answer shows: hostname, kernel, reported_at, age_seconds select nothing more")
    func fieldsNameWhatAnswersShow() throws {
        let t = try Self.server()
        let plain = try t.get("/v1/hosts?fields=pasid_bits&limit=5")
        #expect(plain.status == 200)
        for extra in ["hostname", "kernel", "reported_at", "age_seconds", "hostname, kernel ,reported_at,age_seconds"] {
            let response = try t.get("/v1/hosts?fields=\(q(extra)),pasid_bits&limit=5")
            #expect(response.status == 200, "\(extra): \(response.text)")
            let hosts = try #require(response.json["hosts"] as? [[String: Any]])
            #expect(hosts.map { $0["hostname"] as? String } == names(plain), "\(extra)")
            for host in hosts { #expect(Array((host["facts"] as? [String: Any] ?? [:]).keys) == ["pasid_bits"], "\(extra)") }
        }
        // Only always-present names: every host with its head and labels, and no facts (none were asked for).
        let only = try t.get("/v1/hosts?fields=hostname&limit=5")
        #expect(only.status == 200, "\(only.text)")
        let hosts = try #require(only.json["hosts"] as? [[String: Any]])
        #expect(hosts.count == 5)
        for host in hosts {
            #expect(host["hostname"] is String && host["kernel"] is String && host["reported_at"] is String && host["age_seconds"] is Int)
            #expect((host["facts"] as? [String: Any])?.isEmpty == true)
        }
        let typo = try t.get("/v1/hosts?fields=hostnme")
        #expect(typo.status == 400 && typo.error["parameter"] as? String == "fields", "\(typo.text)")
    }

    @Test("a syntax error answers 400 with the position and what was expected")
    func syntaxError() throws {
        let t = try TestAPI()
        let response = try t.get("/v1/hosts?where=\(q("pasid_bits >= "))")
        #expect(response.status == 400)
        #expect(response.error["code"] as? String == "query_syntax")
        #expect(response.error["position"] as? Int == 14)
        #expect((response.error["expected"] as? String)?.contains("value") == true)
    }

    @Test("an unknown name answers 400 with the nearest known names")
    func unknownName() throws {
        let t = try TestAPI()
        let response = try t.get("/v1/hosts?where=\(q("pasid_bits > 16 and kernal >= \"6\""))")
        #expect(response.status == 400)
        #expect(response.error["code"] as? String == "unknown_name")
        #expect(response.error["position"] as? Int == 20)
        #expect((response.error["suggestions"] as? [String])?.first == "kernel")
        let fields = try t.get("/v1/hosts?fields=pasid_bits,nestng")
        #expect(fields.status == 400)
        #expect(fields.error["parameter"] as? String == "fields")
        #expect((fields.error["suggestions"] as? [String])?.contains("nesting") == true)
    }

    @Test("bad limit, cursor, time or an unknown parameter answer 400")
    func badParameters() throws {
        let t = try TestAPI()
        for target in ["/v1/hosts?limit=0", "/v1/hosts?limit=1001", "/v1/hosts?limit=ten", "/v1/hosts?cursor=nope",
                       "/v1/hosts?as_of=yesterday", "/v1/hosts?wehre=nesting", "/v1/hosts?limit=1&limit=2"] {
            let response = try t.get(target)
            #expect(response.status == 400, "\(target)")
            #expect(response.error["code"] as? String == "bad_parameter", "\(target): \(response.text)")
        }
    }

    @Test("host detail: every unit's capabilities, raw base64 that decodes back to the pushed bytes")
    func hostDetail() throws {
        let t = try TestAPI()
        let report = try #require(Self.fleet.report(host: 0, day: 0))
        #expect(try t.push([report]).status == 200)
        let response = try t.get("/v1/hosts/\(q(report.host.hostname))")
        #expect(response.status == 200)
        #expect(response.json["kernel"] as? String == report.kernel.release)
        let units = try #require(response.json["units"] as? [[String: Any]])
        let vfio = try #require(report.sources.first { $0.kind == .vfio })
        let pushed = try #require(try vfio.rawBytes())
        let unit = try #require(units.first { $0["unit"] as? String == vfio.unit })
        // The unit also holds the group's kernel probes (their own raw); the VFIO buffer is the rest.
        let caps = try #require(unit["capabilities"] as? [[String: Any]]).filter { $0["capability"] as? String != "kernel-probes" }
        // The VFIO buffer is stored split: the fixed struct, then each chain capability, in offset order.
        var reassembled: [UInt8] = []
        #expect(caps.contains { $0["capability"] as? String == "vfio-info" })
        for cap in caps {
            let raw = try #require(Data(base64Encoded: cap["raw_base64"] as? String ?? ""))
            #expect(!raw.isEmpty)
            let decoded = try #require(cap["decoded"] as? [String: Any])
            #expect(decoded["facts"] is [String: Any])
            reassembled += raw
        }
        #expect(reassembled.count == pushed.count)
        #expect(Set(caps.map { Data(base64Encoded: $0["raw_base64"] as! String)! }).allSatisfy { piece in
            pushed.indices.contains { i in i + piece.count <= pushed.count && Array(pushed[i..<(i + piece.count)]) == [UInt8](piece) }
        })
        let sysfs = try #require(report.sources.first { $0.kind != .vfio })
        let sysfsUnit = try #require(units.first { $0["unit"] as? String == sysfs.unit })
        let sysfsRaw = ((sysfsUnit["capabilities"] as? [[String: Any]])?.first?["raw_base64"] as? String).flatMap { Data(base64Encoded: $0) }
        #expect(sysfsRaw.map { [UInt8]($0) } == (try sysfs.rawBytes()))
        #expect(try t.get("/v1/hosts/no-such-host").status == 404)
        #expect(try t.get("/v1/hosts/no-such-host/history").status == 404)
    }

    @Test("history: every version with its span and kernel, paged")
    func history() throws {
        let t = try TestAPI()
        let reports = Self.fleet.versionedReports(host: 5, versions: 4)
        #expect(try t.push(reports).status == 200)
        let host = reports[0].host.hostname
        let whole = try t.get("/v1/hosts/\(q(host))/history")
        let versions = try #require(whole.json["versions"] as? [[String: Any]])
        let stored = try t.store.history(hostname: host)
        #expect(versions.count == stored.count)
        #expect(versions.map { $0["kernel"] as? String } == stored.map(\.kernelRelease))
        #expect(versions.last?["valid_to"] is NSNull)
        #expect(versions.first?["valid_from"] as? String == RFC3339.format(reports[0].collectedAt))
        var paged: [String] = []
        var cursor: String?
        repeat {
            let page = try t.get("/v1/hosts/\(q(host))/history?limit=1" + (cursor.map { "&cursor=\(q($0))" } ?? ""))
            paged += (page.json["versions"] as? [[String: Any]] ?? []).compactMap { $0["valid_from"] as? String }
            cursor = page.json["next_cursor"] as? String
        } while cursor != nil
        #expect(paged == versions.compactMap { $0["valid_from"] as? String })
    }

    @Test("history: a long history paged by 3 gives every version once, in order; old and forged cursors are refused")
    func longHistoryPaged() throws {
        let t = try TestAPI()
        var reports = Self.fleet.versionedReports(host: 7, versions: 40)
        reports.reverse()  // newest first: every report but the first arrives out of order
        #expect(try t.push(reports).status == 200)
        let host = reports[0].host.hostname
        let stored = try t.store.history(hostname: host)
        #expect(stored.count == 40)
        var paged: [[String: Any]] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try t.get("/v1/hosts/\(q(host))/history?limit=3" + (cursor.map { "&cursor=\(q($0))" } ?? ""))
            #expect(page.status == 200)
            let versions = page.json["versions"] as? [[String: Any]] ?? []
            #expect(versions.count <= 3)
            paged += versions
            cursor = page.json["next_cursor"] as? String
            pages += 1
        } while cursor != nil && pages < 100
        #expect(pages == 14)
        #expect(paged.compactMap { $0["valid_from"] as? String } == stored.map { RFC3339.format($0.validFrom) })
        #expect(paged.map { $0["valid_to"] as? String } == stored.map { $0.validTo.map(RFC3339.format) })
        #expect(paged.map { $0["kernel"] as? String } == stored.map(\.kernelRelease))
        #expect(paged.map { ($0["facts"] as? [String: Any])?.count } == stored.map(\.facts.count))

        // The cursor of earlier releases (one time, tag "v") and cursors not handed out answer 400.
        let old = Data("v:\(Int64(reports[5].collectedAt.timeIntervalSince1970 * 1000))".utf8).base64EncodedString()
        for bad in [old, "bm90LWEtY3Vyc29y", Data("v2:5".utf8).base64EncodedString(), Data("v2:9.5".utf8).base64EncodedString()] {
            let r = try t.get("/v1/hosts/\(q(host))/history?limit=3&cursor=\(q(bad))")
            #expect(r.status == 400, "\(bad)")
            #expect(r.error["message"] as? String == "cursor: the cursor is not one this endpoint handed out")
        }
    }
}
