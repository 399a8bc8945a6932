import Foundation
import Report
import Testing

/// The one report decoder (Report.decode): field paths and words of its refusals, and the hostname rule.
/// That POST /v1/reports and `capreg ingest` answer exactly the same is APITests/OneReportDecoderTests.
@Suite("Report.decode")
struct ReportDecodingTests {
    static let good = #"""
        {"report_id":"r1","collected_at":"2025-01-05T12:00:00Z","collector_version":"test",
         "host":{"hostname":"rack12-node07","labels":{"rack":"r12"}},"kernel":{"release":"6.1.0-56-amd64"},
         "sources":[{"kind":"vfio","unit":"vfio-group-3","status":"unavailable","reason":"EACCES"}]}
        """#

    static func refusal(_ text: String) -> ReportRefusal? {
        do {
            _ = try Report.decode(json: Data(text.utf8), clock: nil)
            return nil
        } catch {
            return error
        }
    }

    static func replacing(_ old: String, _ new: String) -> String {
        precondition(good.contains(old))
        return good.replacingOccurrences(of: old, with: new)
    }

    @Test func aGoodReportDecodes() throws {
        let r = try Report.decode(json: Data(Self.good.utf8), clock: nil)
        #expect(r.reportId == "r1" && r.host.hostname == "rack12-node07" && r.sources.count == 1)
        #expect(r.collectedAt == Date(timeIntervalSince1970: 1_736_078_400))
        // What the encoder writes, the decoder takes back unchanged (milliseconds kept).
        var precise = r
        precise.collectedAt = Date(timeIntervalSince1970: 1_736_078_400.123)
        #expect(try Report.decode(json: Report.encoder.encode(precise), clock: nil) == precise)
    }

    @Test("refusals name the field and say what is wrong", arguments: [
        (#""collected_at":"2025-01-05T12:00:00Z""#, #""collected_at":"2025-01-05T12:00:00""#, "collected_at",
         #"expected an RFC 3339 time (2025-01-05T12:00:00Z): the time zone is missing (end with Z or an offset such as +01:00); found "2025-01-05T12:00:00""#),
        (#""collected_at":"2025-01-05T12:00:00Z""#, #""collected_at":"2025-01-05""#, "collected_at",
         #"expected an RFC 3339 time (2025-01-05T12:00:00Z): a date alone is not a time (add THH:MM:SSZ); found "2025-01-05""#),
        (#""collected_at":"2025-01-05T12:00:00Z""#, #""collected_at":1736078400"#, "collected_at",
         "expected an RFC 3339 time (a string such as 2025-01-05T12:00:00Z)"),
        (#""collected_at":"2025-01-05T12:00:00Z","#, "", "collected_at", "missing"),
        (#""hostname":"rack12-node07","#, "", "host.hostname", "missing"),
        (#""hostname":"rack12-node07""#, #""hostname":7"#, "host.hostname", "expected a string"),
        (#""hostname":"rack12-node07""#, #""hostname":null"#, "host.hostname", "expected a string, found null"),
        (#""hostname":"rack12-node07""#, #""hostname":"""#, "host.hostname", "empty"),
        (#""hostname":"rack12-node07""#, #""hostname":"   ""#, "host.hostname", "blank"),
        (#""hostname":"rack12-node07""#, #""hostname":"localhost""#, "host.hostname",
         #""localhost" is a name many machines share, not one host's identity; give the host its own name"#),
        (#""labels":{"rack":"r12"}"#, #""labels":{"rack":12}"#, "host.labels.rack", "expected a string"),
        (#""labels":{"rack":"r12"}"#, #""labels":[]"#, "host.labels", "expected an object"),
        (#""report_id":"r1""#, #""report_id":"""#, "report_id", "empty"),
        (#""report_id":"r1""#, #""report_id":"\#(String(repeating: "x", count: 256))""#, "report_id", "256 characters; at most 255"),
        (#""release":"6.1.0-56-amd64""#, #""release":"""#, "kernel.release", "empty; expected `uname -r`"),
        (#""kind":"vfio""#, #""kind":"vfio2""#, "sources[0].kind",
         #"expected one of sysfs-intel, sysfs-amd, vfio, iommufd, probe, pci-device, found "vfio2""#),
        (#""status":"unavailable""#, #""status":"gone""#, "sources[0].status", #"expected ok or unavailable, found "gone""#),
        (#""unit":"vfio-group-3","#, "", "sources[0].unit", "missing"),
        (#""sources":["#, #""sources":{"x":1},"y":["#, "sources", "expected an array"),
    ] as [(String, String, String, String)])
    func refusals(old: String, new: String, field: String, problem: String) throws {
        let text = Self.replacing(old, new)
        let refusal = try #require(Self.refusal(text), "accepted: \(text)")
        #expect(refusal.field == field)
        #expect(refusal.problem == problem)
        #expect(refusal.description == "\(field): \(problem)")
        #expect(refusal.index == nil)
    }

    @Test("texts that are not a report object")
    func notReports() {
        #expect(Self.refusal("") == ReportRefusal(field: "", problem: "empty; expected a report (a JSON object)"))
        #expect(Self.refusal(" {\"report_id\": ") == ReportRefusal(field: "", problem: "not valid JSON"))
        #expect(Self.refusal("5") == ReportRefusal(field: "", problem: "expected a report (a JSON object)"))
    }

    @Test("placeholder hostnames are refused in any case, with a trailing dot or padding; real names are not",
          arguments: ["localhost", "LOCALHOST", "localhost.", "localhost.localdomain", "Localhost.LocalDomain", "localhost4",
                      "localhost4.localdomain4", "localhost6", "localhost6.localdomain6", "ip6-localhost", "ip6-loopback",
                      "(none)", " localhost", "localhost "])
    func placeholders(_ name: String) throws {
        let problem = try #require(Report.hostnameProblem(name))
        #expect(problem.contains("a name many machines share"))
    }

    @Test("control and invisible characters in a hostname are refused by code point and position, before any other rule",
          arguments: [("localhost\n", "U+000A (a control character) at character 10"), ("gpu-7\u{0}evil", "U+0000 (a control character) at character 6"),
                      ("a\u{7F}", "U+007F (a control character) at character 2"), ("a\u{9F}", "U+009F (a control character) at character 2"),
                      ("\u{FEFF}a", "U+FEFF (an invisible format character) at character 1"),
                      ("a\u{2028}", "U+2028 (a line or paragraph separator) at character 2"), ("a\u{AD}b", "U+00AD (an invisible format character)")])
    func invisibles(_ name: String, _ expected: String) throws {
        let problem = try #require(Report.hostnameProblem(name))
        #expect(problem.hasPrefix("contains " + expected), "\(problem)")
    }

    @Test func realNamesPass() {
        for name in ["rack12-node07", "localhost-builder", "my.localhost.example", "node1.localdomain", "h", "none",
                     String(repeating: "a", count: 255)] {
            #expect(Report.hostnameProblem(name) == nil, "\(name)")
        }
        #expect(Report.hostnameProblem(String(repeating: "a", count: 256)) == "256 characters; at most 255")
    }

    @Test("an array: each element is decoded and checked as one report would be; the refusal says which")
    func arrays() throws {
        let two = "[\(Self.good),\(Self.good.replacingOccurrences(of: "rack12-node07", with: "(none)"))]"
        do {
            _ = try Report.decodeOneOrMany(json: Data(two.utf8), clock: nil)
            Issue.record("accepted")
        } catch {
            #expect(error.index == 1 && error.field == "host.hostname" && error.path == "[1].host.hostname")
            #expect(error.description.hasPrefix("[1].host.hostname: \"(none)\" is a name many machines share"))
        }
        let bad = "[\(Self.good),\(Self.replacing("2025-01-05T12:00:00Z", "2025-01-05T12:00:00+0100"))]"
        do {
            _ = try Report.decodeOneOrMany(json: Data(bad.utf8), clock: nil)
            Issue.record("accepted")
        } catch {
            #expect(error.path == "[1].collected_at", "\(error)")
            #expect(error.problem.hasPrefix("expected an RFC 3339 time (2025-01-05T12:00:00Z): the offset must be +HH:MM"))
        }
        #expect(try Report.decodeOneOrMany(json: Data("[\(Self.good)]".utf8), clock: nil).count == 1)
        #expect(try Report.decodeOneOrMany(json: Data(Self.good.utf8), clock: nil).count == 1)
    }
}
