import API
import Foundation
import Server
import Store
import StoreSQLite
import Synchronization
import Testing
import TestSupport

/// An unexpected failure is logged as one line an operator can match to the answer: an id, the path and
/// the expression's first 200 bytes, never the SQL (issue 14: a 500 logged 240 KB of SQL per request).
@Suite struct InternalErrorLogTests {
    @Test func fiveHundredsLogAnIdAndTheExpressionNeverTheSQL() throws {
        let dir = try TempDir()
        // A registry whose schema stops before migration 0007 (label sets): a binary's question about past
        // labels meets a table that is not there, which the store reports as an error of its own.
        let store = try Registry.sqlite(path: dir.path("r.sqlite"), migrations: Migration.sqlite.filter { $0.name < "0007" })
        let lines = Mutex<[String]>([])
        let api = API(store: store, tokens: TokenTable()) { line in lines.withLock { $0.append(line) } }
        let list = (0..<100).map { "\"r\($0)\"" }.joined(separator: ",")  // longer than the 200 bytes the log keeps
        let expression = "label.rack in (\(list))"
        let query = "as_of=2025-01-01T00:00:00Z&where=" + (expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        let target = "/v1/hosts?\(query)"
        let request = HTTPRequest(method: "GET", target: target, path: "/v1/hosts", pathSegments: ["v1", "hosts"], rawQuery: query,
                                  query: [QueryItem(name: "as_of", value: "2025-01-01T00:00:00Z"), QueryItem(name: "where", value: expression)],
                                  version: .http11, headers: HTTPHeaders(), body: [], remoteAddress: "127.0.0.1", keepAlive: false)
        let response = api.handle(request)
        guard response.status == .internalServerError else {
            Issue.record("expected the 500 this test is about, got \(response.status): \(String(decoding: response.body, as: UTF8.self).prefix(300))")
            return
        }
        let body = String(decoding: response.body, as: UTF8.self)
        let logged = lines.withLock { $0 }
        #expect(logged.count == 1)
        let line = try #require(logged.first)
        let id = try #require(line.split(separator: " ").dropFirst().first.map { String($0.dropLast()) }, "\(line)")
        #expect(line.hasPrefix("error \(id): GET /v1/hosts where="), "\(line)")
        #expect(body.contains("(error \(id))"), "the answer names the same id: \(body)")
        #expect(!line.contains("SELECT") && !line.uppercased().contains(" FROM "), "no SQL in the log: \(line.prefix(400))")
        #expect(line.utf8.count < 600, "one bounded line, got \(line.utf8.count) bytes")
        #expect(line.contains(#"where="label.rack in (\"r0\",\"r1\","#), "the expression, quoted: \(line.prefix(200))")
        #expect(line.contains("no such table"), "the store's own message: \(line)")
    }
}
