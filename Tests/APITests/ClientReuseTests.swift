import Foundation
import RegistryClient
import Testing

/// RegistryClient keeps connections alive: a collector draining its spool, or `capreg query` paging,
/// costs one connection (and over https one TLS handshake), not one per request.
@Suite("RegistryClient: keep-alive")
struct ClientReuseTests {
    @Test func requestsInARowShareOneConnection() throws {
        let t = try TestAPI()
        let client = t.client(TestAPI.readerToken)
        for _ in 0..<5 { #expect(try client.get("/healthz").status == 200) }
        #expect(try client.get("/v1/hosts?limit=1").status == 200)
        // The server counts a request after writing its answer, which the client may read first.
        var stats = t.server.stats()
        for _ in 0..<100 where stats.requestsHandled < 6 {
            Thread.sleep(forTimeInterval: 0.01)
            stats = t.server.stats()
        }
        #expect(stats.connectionsAccepted == 1 && stats.requestsHandled == 6, "\(stats)")
    }

    @Test func aClosedConnectionIsReplacedNotAFailure() throws {
        // The server closes idle connections (here after 1 s); the next request goes on a new one.
        let t = try TestAPI(configure: { $0.idleTimeout = .seconds(1) })
        let client = t.client(TestAPI.readerToken)
        #expect(try client.get("/healthz").status == 200)
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try client.get("/healthz").status == 200)
        #expect(t.server.stats().connectionsAccepted == 2)
    }

    @Test func refusedConnectionsFailWithinTheConnectWaitNamingTheErrno() throws {
        let client = try APIClient(baseURL: "http://127.0.0.1:9")
        let started = Date()
        #expect { try client.get("/healthz") } throws: { "\($0)".contains("ECONNREFUSED") }
        #expect(Date().timeIntervalSince(started) < 10, "the connection wait is 5 s")
    }

    @Test(arguments: [("ftp://x", "expected a URL"), ("http://x?a=b", "expected a URL"),
                      ("https://127.0.0.1:1", nil)])
    func urls(url: String, problem: String?) {
        do {
            _ = try APIClient(baseURL: url)
            #expect(problem == nil)
        } catch {
            #expect(problem.map { "\(error)".contains($0) } == true, "\(error)")
        }
    }

    @Test func tlsFilesAreCheckedAtOnceNamingTheOption() {
        #expect { try APIClient(baseURL: "http://127.0.0.1:1", tls: TLSOptions(caFile: "/etc/hostname")) } throws: {
            "\($0)".contains("need an https:// URL")
        }
        #expect { try APIClient(baseURL: "https://127.0.0.1:1", tls: TLSOptions(caFile: "/nonexistent/ca.pem")) } throws: {
            "\($0)".contains("--ca /nonexistent/ca.pem")
        }
        #expect { try APIClient(baseURL: "https://127.0.0.1:1", tls: TLSOptions(certificateFile: "/etc/hostname")) } throws: {
            "\($0)".contains("go together")
        }
    }
}
