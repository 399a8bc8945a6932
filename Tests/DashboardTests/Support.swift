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

/// The API (dashboard included) on an ephemeral loopback port over a fresh SQLite file.
final class DashboardServer {
    static let readerToken = "reader-token-0123456789abcdef"
    static let collectorToken = "collector-token-0123456789abcdef"

    let dir: TempDir
    let store: Registry
    let server: HTTPServer
    let tokens: Bool

    init(tokens: Bool = false, staleAfter: DurationText = DurationText(seconds: 7200)) throws {
        dir = try TempDir()
        store = try TestRegistry.open(dir.path("r.sqlite"))
        var table = TokenTable()
        if tokens {
            table.add(token: Self.readerToken, role: .reader)
            table.add(token: Self.collectorToken, role: .collector)
        }
        self.tokens = tokens
        server = HTTPServer(config: ServerConfig(host: "127.0.0.1", port: 0, drainTimeout: .seconds(2)),
                            handler: API(store: store, tokens: table, staleAfter: staleAfter))
        try server.start()
    }

    deinit { server.shutdown() }  // before `dir` goes

    func get(_ target: String, token: String? = nil) throws -> APIClient.Response {
        try APIClient(host: "127.0.0.1", port: server.port, token: token ?? (tokens ? Self.readerToken : nil)).get(target)
    }

    func ingest(_ reports: [Report]) throws {
        for result in try store.ingest(reports) { #expect(result.error == nil, "\(result)") }
    }

    func ingest(_ fleet: SyntheticFleet) throws {
        var all: [Report] = []
        fleet.forEachReport { all.append($0) }
        try ingest(all)
    }
}

/// A synthetic host's report under another name and time (its sources stay real, decodable bytes).
func report(_ hostname: String, at: Date, host: Int = 0, labels: [String: String]? = nil, id: String? = nil) -> Report {
    var r = SyntheticFleet(hosts: host + 1, days: 1).report(host: host, day: 0)!
    r.host.hostname = hostname
    if let labels { r.host.labels = labels }
    r.collectedAt = at
    r.reportId = id ?? "test-\(UUID().uuidString)"
    return r
}

func q(_ value: String) -> String { APIClient.encode(value) }

extension APIClient.Response {
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
}
