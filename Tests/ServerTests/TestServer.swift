import Foundation
import TestSupport
@testable import Server
#if canImport(Glibc)
import Glibc
#endif

/// A server on an ephemeral loopback port with a small handler the tests steer by path:
/// `/echo` answers the body back, `/slow?ms=N` sleeps first, `/info` describes the request,
/// anything else answers `method path`.
final class TestServer: @unchecked Sendable {
    let server: HTTPServer
    /// Signalled when `/slow` starts sleeping, so a test knows its request is in flight.
    let slowStarted = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _metrics: [ResponseMetric] = []

    var metrics: [ResponseMetric] { lock.withLock { _metrics } }

    /// `admit` is the handler's admission (default: every request, without an identity).
    init(host: String = "127.0.0.1", configure: (inout ServerConfig) -> Void = { _ in },
         admit: @escaping @Sendable (HTTPRequest) -> Admission = { _ in .admit(identity: nil) }) throws {
        var config = ServerConfig(host: host, port: 0, headerReadTimeout: .seconds(5), idleTimeout: .seconds(5),
                                  drainTimeout: .seconds(3), lingerTimeout: .milliseconds(200))
        configure(&config)
        let box = MetricsBox()
        let userCallback = config.onResponse
        config.onResponse = { metric in
            box.append(metric)
            userCallback?(metric)
        }
        let started = slowStarted
        server = HTTPServer(config: config, handler: ClosureHandler(admit: admit) { request in
            TestServer.handle(request, slowStarted: started)
        })
        box.owner = self
        try server.start()
    }

    var port: UInt16 { server.port }

    func client() throws -> RawClient { try RawClient(port: port, host: server.address) }

    fileprivate func record(_ metric: ResponseMetric) { lock.withLock { _metrics.append(metric) } }

    static func handle(_ request: HTTPRequest, slowStarted: DispatchSemaphore) -> HTTPResponse {
        switch request.path {
        case "/echo":
            return HTTPResponse(status: .ok, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]), body: request.body)
        case "/slow":
            slowStarted.signal()
            usleep(UInt32(request.queryValue("ms").flatMap(Int.init) ?? 300) * 1000)
            return .text(.ok, "slow done")
        case "/info":
            let text = [request.method, request.path, request.pathSegments.joined(separator: "|"),
                        request.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&"),
                        request.headers["x-test"] ?? "-", request.remoteAddress].joined(separator: "\n")
            return .text(.ok, text)
        case "/close":
            return HTTPResponse(status: .ok, body: Array("bye".utf8), closeConnection: true)
        default:
            return .text(.ok, "\(request.method) \(request.path)")
        }
    }

    deinit { server.shutdown(drainTimeout: .seconds(1)) }
}

/// Lets the metrics callback, created before the TestServer exists, reach it.
private final class MetricsBox: @unchecked Sendable {
    private let lock = NSLock()
    private weak var _owner: TestServer?
    var owner: TestServer? {
        get { lock.withLock { _owner } }
        set { lock.withLock { _owner = newValue } }
    }

    func append(_ metric: ResponseMetric) { owner?.record(metric) }
}

func get(_ path: String, _ extra: String = "") -> String {
    "GET \(path) HTTP/1.1\r\nHost: test\r\n\(extra)\r\n"
}
