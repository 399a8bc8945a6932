import Foundation
import Report
import Store
import StoreSQLite
import TestRegistry
import Testing
import Timestamps
import API
import TestSupport
@testable import Synthetic

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
        let fleet = SyntheticFleet(hosts: 60, days: 1, seed: 5)
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
            // Control and invisible characters in identities and labels (issue 14): refused, never cut short.
            try c("a hostname with NUL inside", "host.hostname", host { $0["hostname"] = "gpu-7\u{0}evil" }),
            try c("a hostname with DEL", "host.hostname", host { $0["hostname"] = "gpu-7\u{7F}" }),
            try c("a hostname with a C1 control", "host.hostname", host { $0["hostname"] = "gpu-7\u{85}" }),
            try c("a hostname with a right-to-left override", "host.hostname", host { $0["hostname"] = "gpu-\u{202E}7" }),
            try c("a hostname with a zero-width space", "host.hostname", host { $0["hostname"] = "gpu\u{200B}-7" }),
            try c("a report_id with a newline", "report_id") { $0["report_id"] = "one-decoder-nl\nx" },
            try c("a report_id with NUL", "report_id") { $0["report_id"] = "one-decoder-nul\u{0}" },
            try c("a label key with NUL", "host.labels.ra<U+0000>ck", host { $0["labels"] = ["ra\u{0}ck": "r1"] }),
            try c("a label value with NUL", "host.labels.rack", host { $0["labels"] = ["rack": "r1\u{0}r2"] }),
            try c("a label value with a tab", "host.labels.rack", host { $0["labels"] = ["rack": "r1\tr2"] }),
            try c("a kernel release with NUL", "kernel.release") { $0["kernel"] = ["release": "6.1.0\u{0}-evil"] },
            try c("a hostname with visible Unicode", nil, host { $0["hostname"] = "hôte-été-7" }),
            // Label limits: 64 labels, keys of a 63-character name with an optional DNS prefix, values of 256.
            try c("64 labels, a 63-character key, a prefix and a 256-character value", nil, host {
                var labels = Dictionary(uniqueKeysWithValues: (0..<61).map { ("k\($0)", "v") })
                labels[String(repeating: "n", count: 63)] = String(repeating: "é", count: 256)
                labels["topology.example.io/zone"] = "eu-1a"
                labels["Rack_1.a-b"] = ""
                $0["labels"] = labels
            }),
            try c("65 labels", "host.labels", host { $0["labels"] = Dictionary(uniqueKeysWithValues: (0..<65).map { ("k\($0)", "v") }) }),
            try c("a 64-character key", "host.labels." + String(repeating: "n", count: 64), host {
                $0["labels"] = [String(repeating: "n", count: 64): "v"]
            }),
            try c("a 257-character value", "host.labels.rack", host { $0["labels"] = ["rack": String(repeating: "é", count: 257)] }),
            try c("a key beginning with -", "host.labels.-rack", host { $0["labels"] = ["-rack": "v"] }),
            try c("a key with a space", "host.labels.my rack", host { $0["labels"] = ["my rack": "v"] }),
            try c("an uppercase key prefix", "host.labels.Example.io/zone", host { $0["labels"] = ["Example.io/zone": "v"] }),
            try c("an empty key", "host.labels.", host { $0["labels"] = ["": "v"] }),
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
        #expect(cases.filter { $0.field == nil }.count == 10 && cases.count == 48)

        // 1. The decoder itself.
        var decoded: [String: Report] = [:]
        var refusals: [String: ReportRefusal] = [:]
        for c in cases {
            do {
                decoded[c.name] = try Report.decode(json: Data(c.text.utf8), clock: ClockBound(now: Date()))
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
        func lastSeen(_ store: Registry) throws -> [String: Date] {
            Dictionary(uniqueKeysWithValues: try store.hosts().map { ($0.hostname, $0.lastSeen) })
        }
        let expected = Dictionary(uniqueKeysWithValues: decoded.values.map {
            ($0.host.hostname, Date(timeIntervalSince1970: ($0.collectedAt.timeIntervalSince1970 * 1000).rounded() / 1000))
        })
        #expect(expected.count == 10)
        #expect(try lastSeen(api.store) == expected)
        for path in cliStores {
            #expect(try lastSeen(try Registry.sqlite(path: path)) == expected, "\(path)")
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

    /// A report at `collected_at`, for host `n`, with its own id.
    static func report(_ n: Int, id: String, hostname: String? = nil, at time: Date) throws -> String {
        try report(n) { o in
            o["report_id"] = id
            o["collected_at"] = RFC3339.format(time)
            if let hostname { var h = o["host"] as! [String: Any]; h["hostname"] = hostname; o["host"] = h }
        }
    }

    @Test("hostnames differing after a NUL do not alias: a refused report stores nothing and the next good one is stored, on every path")
    func nulDoesNotAlias() throws {
        let now = Date()
        let evil = try Self.report(1, id: "nul-1", hostname: "gpu-7\u{0}evil", at: now.addingTimeInterval(-120))
        let good = try Self.report(1, id: "nul-2", hostname: "gpu-7", at: now.addingTimeInterval(-60))
        let evilAgain = try Self.report(2, id: "nul-3", hostname: "gpu-7\u{0}other", at: now.addingTimeInterval(-30))

        // POST /v1/reports: 400 naming host.hostname, nothing stored; the good report after it is stored.
        let api = try TestAPI()
        let refused = try api.post("/v1/reports", Array(evil.utf8))
        #expect(refused.status == 400, "\(refused.text)")
        #expect(refused.error["path"] as? String == "host.hostname")
        #expect((refused.error["message"] as? String)?.contains("U+0000") == true, "\(refused.text)")
        #expect(try api.store.reportCount() == 0)
        #expect(try api.post("/v1/reports", Array(good.utf8)).status == 200)
        #expect(try api.post("/v1/reports", Array(evilAgain.utf8)).status == 400)
        let afterGood = try api.post("/v1/reports", Array(try Self.report(1, id: "nul-4", hostname: "gpu-7", at: now).utf8))
        #expect(afterGood.status == 200, "\(afterGood.text)")
        #expect(try api.store.hosts().map(\.hostname) == ["gpu-7"])
        // nul-4 repeats nul-2: kept as a heartbeat, its time only.
        #expect(try api.store.reportCount() == 1 && api.store.keptReportIds([good, Self.report(1, id: "nul-4", hostname: "gpu-7", at: now)].map {
            try Report.decode(json: Data($0.utf8), clock: nil)
        }) == ["nul-2", "nul-4"])
        // Looking a host up by a name with NUL finds nothing, not "gpu-7".
        #expect(try api.get("/v1/hosts/gpu-7").status == 200)
        for target in ["/v1/hosts/gpu-7%00evil", "/v1/hosts/gpu-7%00evil/history"] {
            let status = try api.get(target).status
            #expect(status == 404 || status == 400, "\(target): \(status)")
        }
        #expect(try api.store.hostDetail(hostname: "gpu-7\u{0}evil") == nil)
        #expect(try api.store.history(hostname: "gpu-7\u{0}evil").isEmpty)

        // capreg ingest: the refused line is named, the good lines around it are stored.
        let dir = try TempDir()
        let file = dir.path("nul.jsonl")
        try Data([evil, good, evilAgain].joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: file))
        let run = try CapregBinary.run(["ingest", file, "--db", dir.path("r.sqlite"), "--ack"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("\(file):1: host.hostname: contains U+0000 (a control character) at character 6"), "\(run.stderr)")
        #expect(run.stderr.contains("\(file):3: host.hostname: contains U+0000"), "\(run.stderr)")
        #expect(run.stdout.contains("ack nul-2 created"), "\(run.stdout)")
        let cli = try Registry.sqlite(path: dir.path("r.sqlite"))
        #expect(try cli.hosts().map(\.hostname) == ["gpu-7"])

        // The store itself, for callers that build a Report without the decoder: SQLite would cut the text
        // at NUL, so the same check refuses it there and nothing aliases "gpu-7".
        let store = try TestRegistry.open(dir.path("direct.sqlite"))
        var r = try Report.decode(json: Data(good.utf8), clock: nil)
        #expect(try store.ingest([r]).first?.outcome == .created)
        r.reportId = "nul-direct"
        r.host.hostname = "gpu-7\u{0}evil"
        r.collectedAt = now
        let direct = try store.ingest([r])
        #expect(direct.first?.outcome == .rejected)
        #expect(direct.first?.error?.contains("host.hostname") == true, "\(direct)")
        #expect(throws: UndecodableReport.self) { try store.ingestAllOrNothing([r]) }
        r.host.hostname = "gpu-7"
        r.host.labels = ["rack": "r1\u{0}r2"]
        #expect(try store.ingest([r]).first?.outcome == .rejected)
        // An id that SQLite would cut to the stored "nul-2" is refused, not answered as that report's duplicate.
        r.host.labels = [:]
        r.reportId = "nul-2\u{0}x"
        let aliasId = try store.ingest([r]).first
        #expect(aliasId?.outcome == .rejected && aliasId?.duplicate == false, "\(String(describing: aliasId))")
        #expect(try store.reportCount() == 1)
        #expect(try store.hosts().map(\.hostname) == ["gpu-7"])
    }

    @Test("collected_at further ahead than the clock bound is refused naming collected_at, the bound and the registry's time; later reports still win")
    func futureTimesAreRefused() throws {
        // The decoder, with the clock passed in.
        let now = try RFC3339.parse("2026-12-03T08:00:00Z")
        let bound = ClockBound(now: now, maxSkew: 600)
        #expect(throws: Never.self) { try Report.decode(json: Data(try Self.report(1, id: "f-0", at: now.addingTimeInterval(600)).utf8), clock: bound) }
        let ahead = try Self.report(1, id: "f-1", at: now.addingTimeInterval(601))
        do {
            _ = try Report.decode(json: Data(ahead.utf8), clock: bound)
            Issue.record("601 s ahead was taken")
        } catch {
            #expect(error.field == "collected_at")
            #expect(error.problem == "2026-12-03T08:10:01.000Z is 601s ahead of the registry's time 2026-12-03T08:00:00.000Z; "
                        + "at most 10m ahead is taken (--max-clock-skew); fix the host's clock", "\(error)")
        }
        let far = try Self.report(1, id: "f-9999", at: try RFC3339.parse("9999-12-31T23:59:59Z"))
        #expect(throws: ReportRefusal(field: "collected_at", problem: "9999-12-31T23:59:59.000Z is 2912106d ahead of the registry's time "
                + "2026-12-03T08:00:00.000Z; at most 10m ahead is taken (--max-clock-skew); fix the host's clock")) {
            try Report.decode(json: Data(far.utf8), clock: bound)
        }
        // In an array, the refused report is named by index.
        #expect(throws: ReportRefusal(index: 1, field: "collected_at", problem: "9999-12-31T23:59:59.000Z is 2912106d ahead of the registry's time "
                + "2026-12-03T08:00:00.000Z; at most 10m ahead is taken (--max-clock-skew); fix the host's clock")) {
            try Report.decodeOneOrMany(json: Data("[\(try Self.report(2, id: "f-2", at: now)),\(far)]".utf8), clock: bound)
        }

        // POST /v1/reports with the default bound: year 9999 is refused, the host is not frozen.
        let real = Date()
        let api = try TestAPI()
        let refused = try api.post("/v1/reports", Array(far.utf8))
        #expect(refused.status == 400, "\(refused.text)")
        #expect(refused.error["path"] as? String == "collected_at")
        #expect((refused.error["message"] as? String)?.contains("at most 10m ahead is taken") == true, "\(refused.text)")
        #expect(try api.store.reportCount() == 0)
        let soon = try api.post("/v1/reports", Array(try Self.report(1, id: "f-soon", at: real.addingTimeInterval(300)).utf8))
        #expect(soon.status == 200, "\(soon.text)")
        #expect(try api.post("/v1/reports", Array(try Self.report(1, id: "f-hour", at: real.addingTimeInterval(3600)).utf8)).status == 400)
        // A wider bound (capreg serve --max-clock-skew 2h) takes an hour ahead.
        let wide = try TestAPI(maxClockSkew: DurationText(seconds: 7200))
        #expect(try wide.post("/v1/reports", Array(try Self.report(1, id: "f-hour", at: real.addingTimeInterval(3600)).utf8)).status == 200)

        // capreg ingest: the same refusal at the line; --max-clock-skew widens it; a bad duration is named.
        let dir = try TempDir()
        let file = dir.path("future.jsonl")
        let lines = [far, try Self.report(2, id: "f-ok", at: real.addingTimeInterval(-60)), try Self.report(3, id: "f-hour-3", at: real.addingTimeInterval(3600))]
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: file))
        let run = try CapregBinary.run(["ingest", file, "--db", dir.path("r.sqlite"), "--ack"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("\(file):1: collected_at: 9999-12-31T23:59:59.000Z is "), "\(run.stderr)")
        #expect(run.stderr.contains("\(file):3: collected_at: "), "\(run.stderr)")
        #expect(run.stdout.contains("ack f-ok created"), "\(run.stdout)")
        let widened = try CapregBinary.run(["ingest", file, "--db", dir.path("w.sqlite"), "--ack", "--max-clock-skew", "2h"])
        #expect(widened.status == 1)
        #expect(widened.stdout.contains("ack f-hour-3 created"), "\(widened.stdout)")
        #expect(!widened.stderr.contains("\(file):3:"), "\(widened.stderr)")
        for tool in ["ingest", "serve"] {
            let bad = try CapregBinary.run([tool, tool == "ingest" ? file : "--insecure", "--db", dir.path("x.sqlite"), "--max-clock-skew", "10 minutes"])
            #expect(bad.status == 64, "\(tool): \(bad.stderr)")
            #expect(bad.stderr.contains("--max-clock-skew \"10 minutes\""), "\(tool): \(bad.stderr)")
        }
    }

    @Test("capreg import-dmesg --host is held to the same hostname rule: control characters exit 64 naming --host")
    func importDmesgHost() throws {
        let dir = try TempDir()
        let log = dir.path("dmesg.txt")
        try Data("[    0.000000] Linux version 6.1.0-18-amd64\n".utf8).write(to: URL(fileURLWithPath: log))
        let run = try CapregBinary.run(["import-dmesg", log, "--host", "gpu-7\u{1}evil"])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("--host: contains U+0001 (a control character) at character 6"), "\(run.stderr)")
        let fine = try CapregBinary.run(["import-dmesg", log, "--host", "gpu-7"])
        #expect(fine.status == 0, "\(fine.stderr)")
    }
}
