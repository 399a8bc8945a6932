import API
import Decoders
import Foundation
import Report
import Store
import StoreSQLite
import Testing
@testable import Synthetic

@Suite("POST /v1/reports")
struct ReportsEndpointTests {
    let fleet = SyntheticFleet(hosts: 4, days: 2)

    @Test("a push records a version; the same report again is a duplicate and stores nothing")
    func idempotent() throws {
        let t = try TestAPI()
        let report = try #require(fleet.report(host: 0, day: 0))
        let first = try t.push([report])
        #expect(first.status == 200)
        let result = try #require((first.json["results"] as? [[String: Any]])?.first)
        #expect(result["outcome"] as? String == "created")
        #expect(result["duplicate"] as? Bool == false)
        #expect(result["recorded"] as? Bool == true)
        let again = try t.post("/v1/reports", Array(try Report.encoder.encode(report)))  // a single object, not an array
        let repeated = try #require((again.json["results"] as? [[String: Any]])?.first)
        #expect(repeated["outcome"] as? String == "created")
        #expect(repeated["duplicate"] as? Bool == true)
        #expect(repeated["recorded"] as? Bool == false)
        #expect(try t.store.reportCount() == 1)
        // The write's revision; a duplicate answers the original's and advances nothing.
        #expect(result["revision"] as? Int == 1)
        #expect(repeated["revision"] as? Int == 1)
        let other = try t.push([try #require(fleet.report(host: 1, day: 0))])
        #expect((other.json["results"] as? [[String: Any]])?.first?["revision"] as? Int == 2)
    }

    @Test("a later report with the same content is unchanged; with other content, changed")
    func outcomes() throws {
        let t = try TestAPI()
        let reports = fleet.versionedReports(host: 1, versions: 2)
        var outcomes: [String] = []
        for r in reports {
            let response = try t.push([r])
            outcomes.append(((response.json["results"] as? [[String: Any]])?.first?["outcome"] as? String) ?? "?")
        }
        #expect(outcomes == ["created", "changed"])
        var same = reports[1]
        same.reportId += "-again"
        same.collectedAt = same.collectedAt.addingTimeInterval(3600)
        let response = try t.push([same])
        #expect((response.json["results"] as? [[String: Any]])?.first?["outcome"] as? String == "unchanged")
    }

    @Test("a malformed VFIO buffer answers 400 naming the unit, capability and byte offset, and nothing is stored")
    func malformedVFIO() throws {
        let t = try TestAPI()
        let good = try #require(fleet.report(host: 2, day: 0))
        var bad = try #require(fleet.report(host: 3, day: 0))
        let index = try #require(bad.sources.firstIndex { $0.kind == .vfio })
        var bytes = try #require(try bad.sources[index].rawBytes())
        bytes = Array(bytes.prefix(bytes.count - 3))  // cut inside the last capability
        bad.sources[index].raw = Data(bytes).base64EncodedString()
        // What the decoders themselves say about these bytes: the API must report exactly that place.
        var expected: DecodeError?
        do { _ = try SourceDecoder.records(bad.sources[index], kernel: KernelRelease(bad.kernel.release)) } catch {
            if case .decode(_, _, let e) = error { expected = e }
        }
        let decodeError = try #require(expected)

        let response = try t.push([good, bad])
        #expect(response.status == 400)
        let error = response.error
        #expect(error["code"] as? String == "undecodable_source")
        #expect(error["unit"] as? String == bad.sources[index].unit)
        #expect(error["capability"] as? String == decodeError.context)
        #expect(error["offset"] as? Int == decodeError.offset)
        #expect(error["report_index"] as? Int == 1)
        #expect((error["message"] as? String)?.contains("at byte \(decodeError.offset)") == true)
        // All or nothing: the good report of the same request was not stored either.
        #expect(try t.store.reportCount() == 0)
        #expect(try t.store.hosts().isEmpty)
    }

    @Test("a probe map out of bounds or of the wrong form answers 400 naming the unit and the probe, and nothing is stored")
    func malformedProbes() throws {
        let t = try TestAPI()
        let good = try #require(fleet.report(host: 2, day: 0))
        let many = "{" + (0..<129).map { "\"k\($0)\":\"ok\"" }.joined(separator: ",") + "}"
        for (json, names) in [(#"{"iommufd.hwpt_alloc.nest_parent":"yes"}"#, "iommufd.hwpt_alloc.nest_parent"), (many, "at most 128 probes"),
                              (#"{"iommufd.bind":"ok","Bad Key":"ok"}"#, "probe names")] {
            var bad = try #require(fleet.report(host: 3, day: 0))
            bad.sources.append(Report.Source(kind: .probe, unit: "vfio7", raw: Array(json.utf8)))
            let response = try t.push([good, bad])
            #expect(response.status == 400)
            #expect(response.error["code"] as? String == "undecodable_source")
            #expect(response.error["unit"] as? String == "vfio7")
            #expect((response.error["message"] as? String)?.contains(names) == true, "\(response.error)")
        }
        #expect(try t.store.reportCount() == 0)
    }

    @Test("bodies that are not reports answer 400 with the error shape and where in the body")
    func invalidBodies() throws {
        let t = try TestAPI()
        for (body, path) in [("", nil), ("{", nil), ("[{\"report_id\": 5}]", "[0].report_id"), ("{\"report_id\":\"x\"}", "collected_at")] {
            let response = try t.post("/v1/reports", Array(body.utf8))
            #expect(response.status == 400, "\(body)")
            #expect(response.error["code"] as? String == "invalid_report")
            if let path { #expect(response.error["path"] as? String == path, "\(body): \(response.text)") }
        }
        var empty = try #require(fleet.report(host: 0, day: 0))
        empty.host.hostname = ""
        #expect(try t.push([empty]).status == 400)
        #expect(try t.store.reportCount() == 0)
    }

    @Test("more reports than one store batch are refused whole")
    func tooMany() throws {
        let t = try TestAPI()
        let one = try #require(fleet.report(host: 0, day: 0))
        let many = (0...t.store.batchSize).map { i -> Report in
            var r = one
            r.reportId = "r\(i)"
            return r
        }
        let response = try t.push(many)
        #expect(response.status == 400)
        #expect(response.error["code"] as? String == "too_many_reports")
        #expect(try t.store.reportCount() == 0)
    }
}
