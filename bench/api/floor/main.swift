// API figures, the in-process half: the placement query's floor (the SQL the store compiles, run
// directly through GRDB on the same file), then the store's whole page (queryHosts: that SQL plus the
// per-host reads) and the API handler's whole answer (routing, parameters, store, JSON), all without a
// socket; then a registry credential's check (capreg token), on a scratch database. bench/api/run.sh
// runs this before the servers and prints it beside the wrk rows.
// Run: swift run -c release capreg-api-bench --db FLEET.sqlite [--where EXPR] [--fields F] [--limit 100] [--seconds 5] [--only NAME]
// Prints one `ROW name p50_us p99_us per_s count` line per measurement (for run.sh) after a readable one.
import API
import Foundation
import GRDB
import Query
import Server
import Store
import StoreSQLite

struct Options {
    var db = ""
    var whereText = #"pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20"#
    var fields: String?
    var limit = 100
    var seconds = 5.0
    /// Run only the measurement of this name (e.g. store-queryHosts, to profile it alone); nil: all.
    var only: String?

    init(_ args: [String]) {
        var i = 0
        while i + 1 < args.count {
            switch args[i] {
            case "--db": db = args[i + 1]
            case "--where": whereText = args[i + 1]
            case "--fields": fields = args[i + 1].isEmpty ? nil : args[i + 1]
            case "--limit": limit = Int(args[i + 1]) ?? limit
            case "--seconds": seconds = Double(args[i + 1]) ?? seconds
            case "--only": only = args[i + 1]
            default: usage("unknown option \(args[i])")
            }
            i += 2
        }
        if db.isEmpty { usage("--db PATH is required (a fleet from `capreg synth --ingest`)") }
        // Opening a missing file would create an empty registry and measure nothing.
        if !FileManager.default.fileExists(atPath: db) {
            FileHandle.standardError.write(Data("capreg-api-bench: --db \(db): no such file\n".utf8))
            exit(66)  // EX_NOINPUT
        }
    }
}

/// A usage error: said on standard error, exit 64 (EX_USAGE), not a crash.
func usage(_ problem: String) -> Never {
    FileHandle.standardError.write(Data("capreg-api-bench: \(problem)\noptions: --db PATH --where EXPR --fields F --limit N --seconds S --only NAME\n".utf8))
    exit(64)
}

@inline(__always) func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Runs `body` back to back for `seconds` (after a short warm-up) on this one thread and prints its
/// latency percentiles and rate.
func measure(_ name: String, seconds: Double, _ body: () throws -> Int) rethrows {
    if let only = options.only, only != name { return }
    let warmEnd = now() + 200_000_000
    while now() < warmEnd { _ = try body() }
    var samples: [UInt64] = []
    samples.reserveCapacity(1 << 16)
    var checksum = 0
    let start = now()
    let end = start + UInt64(seconds * 1e9)
    var t = start
    while t < end {
        checksum &+= try body()
        let t2 = now()
        samples.append(t2 - t)
        t = t2
    }
    let elapsed = Double(t - start) / 1e9
    samples.sort()
    func pct(_ p: Double) -> Double {
        Double(samples[min(samples.count - 1, Int((Double(samples.count) * p).rounded(.up)) - 1)]) / 1e3
    }
    let rate = Double(samples.count) / elapsed
    print(String(format: "  %-34@ p50 %8.1f µs   p99 %8.1f µs   %9.0f /s   (%d runs, %d rows or bytes each)",
                 name as NSString, pct(0.50), pct(0.99), rate, samples.count, checksum / max(1, samples.count)))
    print(String(format: "ROW %@ %.1f %.1f %.1f %d", name as NSString, pct(0.50), pct(0.99), rate, samples.count))
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let expr = try QueryParser.parse(options.whereText)
let fieldNames = options.fields.map { Set($0.split(separator: ",").map(String.init)) }

// 1. The floor: the page query exactly as the store compiles it (one row more than the page, as queryHosts asks).
let compiled = HostQuerySQL.select(expr, mode: .now, after: nil, limit: options.limit + 1)
var grdb = Configuration()
grdb.readonly = true
grdb.prepareDatabase { db in db.add(function: SQLiteDatabase.coversFunction) }
let queue = try DatabaseQueue(path: options.db, configuration: grdb)
print("capreg api bench (in-process, one thread): \(options.db)")
print("  where: \(options.whereText)   limit \(options.limit)\(options.fields.map { "   fields \($0)" } ?? "")")
print("  floor SQL: \(compiled.sql)")
print("  arguments: \(compiled.arguments.map { "\($0)" }.joined(separator: ", "))")
/// The compiled query's arguments for GRDB (the floor runs the SQL straight on SQLite, no registry between).
func grdbArguments(_ values: some Sequence<SQLValue>) -> StatementArguments {
    StatementArguments(values.map { value -> DatabaseValue in
        switch value {
        case .int(let i): return i.databaseValue
        case .text(let t): return t.databaseValue
        default: return .null  // the compiler binds integers and text only
        }
    })
}
let arguments = grdbArguments(compiled.arguments)
let matches = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(compiled.sql.replacingOccurrences(of: " LIMIT ?", with: "")))",
                                                      arguments: grdbArguments(compiled.arguments.dropLast()))! }
let total = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM hosts")! }
print("  fleet: \(total) hosts, \(matches) match")
try queue.read { db in
    let statement = try db.makeStatement(sql: compiled.sql)
    statement.arguments = arguments
    try measure("floor-sql", seconds: options.seconds) {
        var rows = 0
        let cursor = try Row.fetchCursor(statement)
        while let row = try cursor.next() {
            let _: Int64 = row[0]
            let _: String = row[1]
            rows += 1
        }
        return rows
    }
}

// The answer's own SQL (what "the same SQL's floor" means once the walk is cheap): the statements a request
// of this page runs, in one read transaction, every column read: the newest revision, the page statement
// (the walk plus each host's row: kernel, state time, labels, and the key facts or stored facts asked
// for), and the stale list's statement. (A count runs only when a list has more than one page.)
let freshSince: Int64 = 0  // every host of the 2025 fleet is fresh, as under --stale-after 36500d
let pageStatements = [
    Registry.pageStatement(expr, mode: .now, filter: HostQuerySQL.Filter(freshSince: freshSince), after: nil, limit: options.limit,
                           fields: fieldNames, dialect: .sqlite),
    Registry.pageStatement(expr, mode: .now, filter: HostQuerySQL.Filter(freshSince: freshSince, stale: true), after: nil,
                           limit: options.limit, fields: [], dialect: .sqlite),
]
try queue.read { db in
    let revision = try db.makeStatement(sql: Registry.revisionSQL)
    let statements = try pageStatements.map { compiled in
        let statement = try db.makeStatement(sql: compiled.sql)
        statement.arguments = grdbArguments(compiled.arguments)
        return statement
    }
    try measure("page-sql", seconds: options.seconds) {
        // Each measured run in a transaction of its own, as each request's answer is.
        try db.execute(sql: "SAVEPOINT page")
        defer { try? db.execute(sql: "RELEASE page") }
        var values = try Int64.fetchOne(revision) ?? 0 > 0 ? 1 : 0
        for statement in statements {
            let cursor = try Row.fetchCursor(statement)
            while let row = try cursor.next() { values += row.databaseValues.count }
        }
        return values
    }
}

// The expression's parse, which every request makes (API.handle below includes it).
try measure("query-parse", seconds: min(options.seconds, 2)) { try QueryParser.parse(options.whereText) == expr ? 1 : 0 }

// 2. The store's page: that SQL, then each host's report, facts and labels (what the endpoint gets).
let store = try Registry.sqlite(path: options.db)
try measure("store-queryHosts", seconds: options.seconds) {
    try store.queryHosts(expr, fields: fieldNames, limit: options.limit).hosts.count
}

// 3. The API handler, in-process: routing, parameters, the parse, the store, the JSON bytes.
func encode(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed)!
}
var query = [QueryItem(name: "where", value: options.whereText), QueryItem(name: "limit", value: String(options.limit))]
if let fields = options.fields { query.append(QueryItem(name: "fields", value: fields)) }
let rawQuery = query.map { "\($0.name)=\(encode($0.value))" }.joined(separator: "&")
let request = HTTPRequest(method: "GET", target: "/v1/hosts?" + rawQuery, path: "/v1/hosts", pathSegments: ["v1", "hosts"],
                          rawQuery: rawQuery, query: query, version: .http11, headers: HTTPHeaders([("Host", "127.0.0.1")]),
                          body: [], keepAlive: true)
// The synthetic fleet is dated 2025: a 100-year freshness bound keeps every host fresh while the
// freshness conditions still run, as with `capreg serve --stale-after 36500d` in bench/api/run.sh.
let api = API(store: store, tokens: TokenTable(), staleAfter: DurationText(seconds: DurationText.maxSeconds))
let probe = api.handle(request)
guard probe.status == .ok else { fatalError("API answered \(probe.status): \(String(decoding: probe.body, as: UTF8.self))") }
print("  response: \(probe.body.count) bytes of JSON")
print("TARGET \(request.target)")
measure("api-handle", seconds: options.seconds) { api.handle(request).body.count }

// 4. A registry credential's check (`capreg token`), as the authorizer makes it on every request that
// needs a token: the secret's SHA-256 and one read by primary key. On a scratch database of its own, so
// the fleet's stays without credentials (run.sh serves it without tokens).
let scratch = NSTemporaryDirectory() + "capreg-api-bench-credentials-\(getpid()).sqlite"
let credentials = try Registry.sqlite(path: scratch)
let issued = try credentials.issueCredential(role: .reader, binding: nil, expiresIn: 3600)
try measure("credential-lookup", seconds: min(options.seconds, 2)) { try credentials.credential(presenting: issued.secret) == nil ? 0 : 1 }
for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: scratch + suffix) }
