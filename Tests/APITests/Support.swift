import API
import Foundation
import Report
import Server
import Store
import StoreSQLite
import Testing
import TestSupport
import RegistryClient
@testable import Synthetic
import TestRegistry

/// A real API server on an ephemeral loopback port over a fresh SQLite file, torn down with the value.
final class TestAPI {
    static let readerToken = "reader-token-0123456789abcdef"
    static let collectorToken = "collector-token-0123456789abcdef"
    static let adminToken = "admin-token-0123456789abcdef"
    /// A second reader, for tests of fairness between identities.
    static let otherReaderToken = "other-reader-token-0123456789abcdef"

    let dir: TempDir
    let store: Registry
    let api: API
    let server: HTTPServer

    /// The fixtures are dated 2025, so by default nothing counts as stale; freshness tests pass their own bound.
    static let neverStale = DurationText(seconds: DurationText.maxSeconds)

    init(tokens: Bool = true, staleAfter: DurationText = TestAPI.neverStale,
         maxClockSkew: DurationText = DurationText(seconds: Int64(ClockBound.defaultMaxSkew)),
         queryBudget: Duration = API.defaultQueryBudget, trustedProxy: TrustedProxy = TrustedProxy(),
         minRevisionWait: Duration = API.defaultMinRevisionWait,
         configure: (inout ServerConfig) -> Void = { _ in },
         beforeStart: (Registry) throws -> Void = { _ in }) throws {
        dir = try TempDir()
        store = try TestRegistry.open(dir.path("r.sqlite"))
        try beforeStart(store)
        var table = TokenTable()
        if tokens {
            table.add(token: Self.readerToken, role: .reader)
            table.add(token: Self.collectorToken, role: .collector)
            table.add(token: Self.adminToken, role: .admin)
            table.add(token: Self.otherReaderToken, role: .reader)
        }
        let api = API(store: store, tokens: table, staleAfter: staleAfter, maxClockSkew: maxClockSkew, queryBudget: queryBudget,
                      trustedProxy: trustedProxy, minRevisionWait: minRevisionWait)
        self.api = api
        var config = ServerConfig(host: "127.0.0.1", port: 0, drainTimeout: .seconds(2), onResponse: { api.record($0) })
        configure(&config)
        server = HTTPServer(config: config, handler: api)
        api.metrics.attach(serverStats: { [server] in server.stats() })
        try server.start()
    }

    deinit {
        // The change stream's reader first (a watch request started it), then the server; both before `dir` goes.
        api.stopBackground()
        server.shutdown()
    }

    func client(_ token: String? = TestAPI.adminToken) -> APIClient {
        APIClient(host: "127.0.0.1", port: server.port, token: token)
    }

    func get(_ target: String, token: String? = TestAPI.adminToken) throws -> APIClient.Response {
        try client(token).get(target)
    }

    func post(_ target: String, _ body: [UInt8], token: String? = TestAPI.adminToken, headers: [(String, String)] = []) throws -> APIClient.Response {
        try client(token).request("POST", target, body: body, headers: [("Content-Type", "application/json")] + headers)
    }

    func push(_ reports: [Report], token: String? = TestAPI.adminToken, headers: [(String, String)] = []) throws -> APIClient.Response {
        try post("/v1/reports", Array(try Report.encoder.encode(reports)), token: token, headers: headers)
    }

    /// Pushes a synthetic fleet (every host, every day) in batches.
    func pushFleet(_ fleet: SyntheticFleet) throws {
        var batch: [Report] = []
        fleet.forEachReport { batch.append($0) }
        // A debug build's PostgreSQL client (SwiftNIO unoptimized) stores about 5 reports a second: smaller
        // requests keep each within the client's 30 s deadline. The requests are the same kind either way.
        let size = TestBackend.current == .postgres ? 20 : 200
        for start in stride(from: 0, to: batch.count, by: size) {
            let response = try push(Array(batch[start..<min(start + size, batch.count)]))
            #expect(response.status == 200, "\(response.text.prefix(300))")
        }
    }
}

extension APIClient.Response {
    /// The body as a JSON object (nil when it is not one).
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
}

func q(_ value: String) -> String { APIClient.encode(value) }
