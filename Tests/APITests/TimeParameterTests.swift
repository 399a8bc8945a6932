import Foundation
import Testing
import TestRegistry
import TestSupport
import Timestamps

/// Times a person types: `as_of`/`since`/`until` and `capreg query --as-of` go through the same parser
/// (RFC3339.parse, a bare date allowed) and take or refuse the same texts with the same reason.
@Suite("time parameters", .serialized)
struct TimeParameterTests {
    @Test("as_of and --as-of take and refuse the same texts, for the same reason", arguments: [
        ("2025-01-05T12:00:00Z", "2025-01-05T12:00:00.000Z"),
        ("2025-01-05t12:00:00.123456789z", "2025-01-05T12:00:00.123Z"),
        ("2025-01-05 12:00:00-00:00", "2025-01-05T12:00:00.000Z"),
        ("2025-01-05T12:00:00+01:00", "2025-01-05T11:00:00.000Z"),
        ("2025-01-05", "2025-01-05T00:00:00.000Z"),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999Z"),
        ("2025-01-05T12:00:00", nil),
        ("2025-01-05T12:00:00+0100", nil),
        ("2025-02-30", nil),
        ("2025-01-05T24:00:00Z", nil),
        ("yesterday", nil),
    ] as [(String, String?)])
    func sameOnEveryPath(_ text: String, echoed: String?) throws {
        let t = try TestAPI()
        let api = try t.get("/v1/hosts?as_of=\(q(text))")
        let cli = try CapregBinary.run(["query", "--db", TestRegistry.location(t.dir.path("r.sqlite")), "--json", "--as-of", text])
        if let echoed {
            #expect(api.status == 200, "\(api.text)")
            #expect(api.json["as_of"] as? String == echoed)
            #expect(cli.status == 0, "\(cli.stderr)")
        } else {
            var reason = ""
            do { _ = try RFC3339.parse(text, allowingDate: true) } catch { reason = error.description }
            #expect(!reason.isEmpty)
            #expect(api.status == 400)
            #expect(api.error["parameter"] as? String == "as_of")
            #expect(api.error["message"] as? String == "as_of: \(reason); found \"\(text)\"", "\(api.text)")
            #expect(cli.status == 64)
            #expect(cli.stderr.contains("--as-of \(text): \(reason)"), "\(cli.stderr)")
        }
    }

    @Test("an unencoded + in a query string arrives as a space: the refusal says to send %2B")
    func plusInQueryString() throws {
        let t = try TestAPI()
        let raw = try t.get("/v1/hosts?as_of=2025-01-05T12:00:00+01:00")
        #expect(raw.status == 400)
        #expect((raw.error["message"] as? String)?.contains("(in a query string, send + as %2B)") == true, "\(raw.text)")
        let changes = try t.get("/v1/changes?since=2025-01-05T12:00:00+01:00")
        #expect(changes.status == 400 && changes.error["parameter"] as? String == "since", "\(changes.text)")
        #expect(try t.get("/v1/changes?since=2025-01-05T12:00:00%2B01:00").status == 200)
    }
}
