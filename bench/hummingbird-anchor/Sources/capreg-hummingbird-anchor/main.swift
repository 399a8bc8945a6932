// capreg's API handler behind Hummingbird 2: each request is turned into the Server module's
// HTTPRequest (path, query items as Hummingbird decodes them, headers), answered by the very same
// `API.handle` that `capreg serve` runs (routing, auth, parameters, store.queryHosts, JSON bytes), and
// its HTTPResponse turned back into a Hummingbird Response. Only the HTTP layer differs.
//
// The handler is synchronous (the store is GRDB over SQLite, as in capreg serve), so it runs inline in
// Hummingbird's async handler: the straightforward port, with Hummingbird's default event loop group
// (one loop per core) and Swift's cooperative pool doing the rest.
//
// Usage: capreg-hummingbird-anchor --db FLEET.sqlite [--host 127.0.0.1] [--port 8081]  (port 0: a free one, printed)
import API
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Server
import Store
import StoreSQLite

struct Options {
    var db = "./capreg.sqlite"
    var host = "127.0.0.1"
    var port = 8081
}
let options: Options = {
    var options = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    while args.count >= 2 {
        let (name, value) = (args.removeFirst(), args.removeFirst())
        switch name {
        case "--db": options.db = value
        case "--host": options.host = value
        case "--port": options.port = Int(value) ?? options.port
        default: fatalError("unknown option \(name); options: --db PATH --host H --port P")
        }
    }
    return options
}()

let store = try Registry.sqlite(path: options.db)
// No tokens: a loopback bench, as capreg serve is run beside it.
// The synthetic fleet is dated 2025: a 100-year freshness bound keeps every host fresh while the
// freshness conditions still run, as with `capreg serve --stale-after 36500d` in bench/api/run.sh.
let api = API(store: store, tokens: TokenTable(), staleAfter: DurationText(seconds: DurationText.maxSeconds))

/// Hummingbird's request as the Server module's HTTPRequest.
func capregRequest(_ request: Request) -> Server.HTTPRequest {
    let uri = request.uri
    let path = uri.path
    let segments = path == "/" ? [] : path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
        String($0).removingPercentEncoding ?? String($0)
    }
    let query = uri.queryParameters.map { QueryItem(name: String($0.key), value: String($0.value)) }
    let headers = Server.HTTPHeaders(request.headers.map { ($0.name.rawName, $0.value) })
    return Server.HTTPRequest(method: request.method.rawValue, target: uri.string, path: path, pathSegments: segments,
                       rawQuery: uri.query, query: query, version: .http11, headers: headers, body: [], keepAlive: true)
}

/// The Server module's HTTPResponse as Hummingbird's (Content-Length is Hummingbird's to set).
func hummingbirdResponse(_ response: Server.HTTPResponse) -> Response {
    var fields = HTTPFields()
    for field in response.headers {
        if let name = HTTPField.Name(field.name) { fields.append(HTTPField(name: name, value: field.value)) }
    }
    return Response(status: .init(code: response.status.code, reasonPhrase: response.status.reason), headers: fields,
                    body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
}

let router = Router()
router.get("/v1/hosts") { request, _ -> Response in
    hummingbirdResponse(api.handle(capregRequest(request)))
}
var logger = Logger(label: "capreg-hummingbird-anchor")
logger.logLevel = .notice
let app = Application(
    router: router, configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
    onServerRunning: { channel in
        // Port 0 asks for a free port: say which (bench/api/run.sh reads this line).
        let line = "capreg-hummingbird-anchor listening on \(options.host):\(channel.localAddress?.port ?? options.port) (database \(options.db))\n"
        FileHandle.standardError.write(Data(line.utf8))
    },
    logger: logger)
// runService: SIGTERM and SIGINT shut it down gracefully.
try await app.runService()
