import API
import Foundation
import Report
import Server
import Store
import Synchronization
import Testing
import TestRegistry
import TestSupport
@testable import Synthetic

/// A database that cannot be reached for a while (a PostgreSQL failover, a restart) is a 503
/// `store_unavailable` with Retry-After, which clients and balancers retry, not a 500 (issue 16:
/// deploy/patroni/failover-test.sh saw every write during the failover answered 500 internal_error).
@Suite(.enabled(if: PostgresCluster.usable), .serialized)
struct StoreUnavailableTests {
    static func request(_ method: String, _ path: String, body: [UInt8] = []) -> HTTPRequest {
        HTTPRequest(method: method, target: path, path: path, pathSegments: path.split(separator: "/").map(String.init), rawQuery: "",
                    query: [], version: .http11, headers: HTTPHeaders(), body: body, remoteAddress: "127.0.0.1", keepAlive: false)
    }

    @Test func aStoppedDatabaseIs503WithRetryAfterAndTheRegistryComesBackByItself() throws {
        guard try PostgresCluster.local() != nil else {
            print("note: StoreUnavailableTests stops its own cluster; skipped with CAPREG_TEST_POSTGRES_URL")
            return
        }
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let store = try TestRegistry.postgres(url: cluster.freshDatabase() + "?connect_timeout=2")
        let lines = Mutex<[String]>([])
        let api = API(store: store, tokens: TokenTable()) { line in lines.withLock { $0.append(line) } }
        var reports: [Report] = []
        SyntheticFleet(hosts: 2, days: 1, seed: 16).forEachReport { reports.append($0) }
        let first = try Report.encoder.encode(reports[0]), second = try Report.encoder.encode(reports[1])
        #expect(api.handle(Self.request("POST", "/v1/reports", body: Array(first))).status == .ok)

        try cluster.stopServer()
        for request in [Self.request("POST", "/v1/reports", body: Array(second)), Self.request("GET", "/v1/hosts"),
                        Self.request("GET", "/v1/hosts/\(reports[0].host.hostname)")] {
            let response = api.handle(request)
            let body = String(decoding: response.body, as: UTF8.self)
            #expect(response.status == .serviceUnavailable, "\(request.method) \(request.path): \(response.status) \(body.prefix(300))")
            #expect(body.contains("\"store_unavailable\""), "\(body.prefix(300))")
            #expect(response.headers["Retry-After"] == "1")
        }
        #expect(api.handle(Self.request("GET", "/readyz")).status == .serviceUnavailable)
        let logged = lines.withLock { $0 }
        #expect(logged.count == 3 && logged.allSatisfy { $0.hasPrefix("store unavailable: ") }, "\(logged)")

        try cluster.start()
        #expect(api.handle(Self.request("POST", "/v1/reports", body: Array(second))).status == .ok)
        #expect(api.handle(Self.request("GET", "/readyz")).status == .ok)
    }
}
