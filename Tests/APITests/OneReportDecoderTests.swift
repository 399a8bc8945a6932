import Foundation
import Report
import Store
import Testing
import TestSupport

/// One report decoder: the same good and bad reports go to Report.decode, to POST /v1/reports (a real
/// server on loopback) and to `capreg ingest` (the built binary, from a file and from standard input).
/// Every path takes the same ones, refuses the same ones with the same words naming the same field, and
/// stores the same time for each report it took.
@Suite("one report decoder on every path", .serialized)
struct OneReportDecoderTests {
    struct Case {
        var name: String
        var text: String
        /// nil: accepted; else the field a refusal must name ("" for the text as a whole).
        var field: String?
    }

    /// A synthetic report as JSON, changed by `edit`; its own report id and (unless edited) hostname.
    static func report(_ n: Int, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        let fleet = SyntheticFleet(hosts: 40, days: 1, seed: 5)
        var r = try #require(fleet.report(host: n, day: 0))
        r.reportId = "one-decoder-\(n)"
        var object = try #require(try JSONSerialization.jsonObject(with: Report.encoder.encode(r)) as? [String: Any])
        edit(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func at(_ time: Any) -> (inout [String: Any]) -> Void { { $0["collected_at"] = time } }

    static func host(_ edit: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
        { object in
            var host = object["host"] as! [String: Any]
            edit(&host)
            object["host"] = host
        }
    }

    static func cases() throws -> [Case] {
        var n = 0
        func c(_ name: String, _ field: String?, _ edit: @escaping (inout [String: Any]) -> Void = { _ in }) throws -> Case {
            n += 1
            return Case(name: name, text: try report(n, edit), field: field)
        }
        return [
            try c("as the encoder writes it", nil),
            try c("lowercase t and z", nil, at("2025-01-05t12:00:00z")),
            try c("a space between date and time", nil, at("2025-01-05 12:00:00Z")),
            try c("an offset", nil, at("2025-01-05T17:30:00+05:30")),
            try c("the unknown-offset -00:00", nil, at("2025-01-05T12:00:00-00:00")),
            try c("twelve fractional digits", nil, at("2025-01-05T12:00:00.123456789012Z")),
            try c("a leap second", nil, at("2016-12-31T23:59:60Z")),
            try c("a hostname that merely contains localhost", nil, host { $0["hostname"] = "localhost-builder-7" }),
            try c("no time zone", "collected_at", at("2025-01-05T12:00:00")),
            try c("a date only", "collected_at", at("2025-01-05")),
            try c("an offset without its colon", "collected_at", at("2025-01-05T12:00:00+0530")),
            try c("an offset of 24 hours", "collected_at", at("2025-01-05T12:00:00+24:00")),
            try c("second 60 at noon", "collected_at", at("2025-01-05T12:00:60Z")),
            try c("30 February", "collected_at", at("2025-02-30T12:00:00Z")),
            try c("a Unix time number", "collected_at", at(1_736_078_400)),
            try c("no collected_at", "collected_at") { $0["collected_at"] = nil },
            try c("no hostname", "host.hostname", host { $0["hostname"] = nil }),
            try c("a number for a hostname", "host.hostname", host { $0["hostname"] = 7 }),
            try c("an empty hostname", "host.hostname", host { $0["hostname"] = "" }),
            try c("localhost", "host.hostname", host { $0["hostname"] = "localhost" }),
            try c("(none)", "host.hostname", host { $0["hostname"] = "(none)" }),
            try c("LOCALHOST.localdomain", "host.hostname", host { $0["hostname"] = "LOCALHOST.localdomain" }),
            try c("a number for a label", "host.labels.rack", host { $0["labels"] = ["rack": 12] }),
            try c("no report_id", "report_id") { $0["report_id"] = nil },
            try c("sources is an object", "sources") { $0["sources"] = ["kind": "vfio"] },
            try c("an unknown source kind", "sources[0].kind") { o in
                var sources = o["sources"] as! [[String: Any]]
                sources[0]["kind"] = "bogus"
                o["sources"] = sources
            },
            try c("an empty kernel release", "kernel.release") { $0["kernel"] = ["release": ""] },
            Case(name: "not JSON", text: #"{"report_id": "one-decoder-x", "#, field: ""),
        ]
    }

    /// `file:line: message` lines of `capreg ingest`'s standard error, by line.
    static func failures(_ stderr: String, location: String) -> [Int: String] {
        var out: [Int: String] = [:]
        for line in stderr.split(separator: "\n") where line.hasPrefix(location + ":") {
            let rest = line.dropFirst(location.count + 1)
            guard let colon = rest.firstIndex(of: ":"), let n = Int(rest[..<colon]) else { continue }
            out[n] = String(rest[rest.index(after: colon)...].dropFirst())
        }
        return out
    }

    @Test("the same reports are taken or refused the same way, in the same words, by the decoder, the API and capreg ingest")
    func samePathsSameAnswers() throws {
        let cases = try Self.cases()
        #expect(cases.filter { $0.field == nil }.count == 8 && cases.count == 28)

        // 1. The decoder itself.
        var decoded: [String: Report] = [:]
        var refusals: [String: ReportRefusal] = [:]
        for c in cases {
            do {
                decoded[c.name] = try Report.decode(json: Data(c.text.utf8))
            } catch {
                refusals[c.name] = error
            }
            if let field = c.field {
                #expect(refusals[c.name]?.field == field, "\(c.name): \(refusals[c.name].map(\.description) ?? "accepted")")
                #expect(refusals[c.name]?.index == nil)
            } else {
                #expect(decoded[c.name] != nil, "\(c.name): \(refusals[c.name].map(\.description) ?? "")")
            }
        }

        // 2. POST /v1/reports, one report per request.
        let api = try TestAPI()
        for c in cases {
            let response = try api.post("/v1/reports", Array(c.text.utf8))
            if let refusal = refusals[c.name] {
                #expect(response.status == 400, "\(c.name): \(response.text)")
                #expect(response.error["code"] as? String == "invalid_report")
                #expect(response.error["message"] as? String == refusal.description, "\(c.name)")
                #expect(response.error["path"] as? String == (refusal.field.isEmpty ? nil : refusal.field), "\(c.name): \(response.text)")
            } else {
                #expect(response.status == 200, "\(c.name): \(response.text)")
            }
        }

        // 3. capreg ingest, from a file and from standard input (JSON Lines; at most 20 errors are printed a run).
        let dir = try TempDir()
        for (chunkIndex, start) in stride(from: 0, to: cases.count, by: 10).enumerated() {
            let chunk = Array(cases[start..<min(start + 10, cases.count)])
            let text = chunk.map(\.text).joined(separator: "\n") + "\n"
            let file = dir.path("chunk\(chunkIndex).jsonl")
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            let fromFile = try CapregBinary.run(["ingest", file, "--db", dir.path("file.sqlite"), "--ack"])
            let fromStdin = try CapregBinary.run(["ingest", "-", "--db", dir.path("stdin.sqlite"), "--ack"], stdin: Data(text.utf8))
            for (run, location) in [(fromFile, file), (fromStdin, "stdin")] {
                let failed = Self.failures(run.stderr, location: location)
                let acked = Set(run.stdout.split(separator: "\n").filter { $0.hasPrefix("ack ") }.map { String($0.split(separator: " ")[1]) })
                let refused = chunk.filter { refusals[$0.name] != nil }
                #expect(run.status == (refused.isEmpty ? 0 : 1), "\(location): \(run.stderr)")
                for (i, c) in chunk.enumerated() {
                    if let refusal = refusals[c.name] {
                        #expect(failed[i + 1] == refusal.description, "\(location) \(c.name): \(run.stderr)")
                    } else {
                        #expect(failed[i + 1] == nil, "\(location) \(c.name): \(failed[i + 1] ?? "")")
                        #expect(acked.contains(decoded[c.name]!.reportId), "\(location) \(c.name): \(run.stdout)")
                    }
                }
                #expect(failed.count == refused.count, "\(location): \(run.stderr)")
            }
        }
        let cliStores = [dir.path("file.sqlite"), dir.path("stdin.sqlite")]

        // The same instants were stored, to the millisecond, by every path.
        func lastSeen(_ store: SQLiteStore) throws -> [String: Date] {
            Dictionary(uniqueKeysWithValues: try store.hosts().map { ($0.hostname, $0.lastSeen) })
        }
        let expected = Dictionary(uniqueKeysWithValues: decoded.values.map {
            ($0.host.hostname, Date(timeIntervalSince1970: ($0.collectedAt.timeIntervalSince1970 * 1000).rounded() / 1000))
        })
        #expect(expected.count == 8)
        #expect(try lastSeen(api.store) == expected)
        for path in cliStores {
            #expect(try lastSeen(try SQLiteStore(path: path)) == expected, "\(path)")
        }
        #expect(expected[decoded["an offset"]!.host.hostname] == Date(timeIntervalSince1970: 1_736_078_400))
        #expect(expected[decoded["a leap second"]!.host.hostname] == Date(timeIntervalSince1970: 1_483_228_799.999))
    }

    @Test("an array: the first refused report is named by index, and nothing of the request is stored")
    func arrayNamesTheIndex() throws {
        let good = try Self.report(1)
        let bad = try Self.report(2, Self.host { $0["hostname"] = "localhost.localdomain" })
        let api = try TestAPI()
        let response = try api.post("/v1/reports", Array("[\(good),\(bad)]".utf8))
        #expect(response.status == 400)
        #expect(response.error["path"] as? String == "[1].host.hostname", "\(response.text)")
        #expect((response.error["message"] as? String)?.hasPrefix("[1].host.hostname: \"localhost.localdomain\" is a name many machines share") == true)
        #expect(try api.store.reportCount() == 0)
    }
}
