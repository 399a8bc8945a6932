// Database growth per unchanged report (issue 16, "Storage that grows with change"): HOSTS hosts report
// ROUNDS times an hour apart, each report equal to the host's last. Kept as heartbeats (same collector
// version) against the same reports kept as reports rows (the collector version alternates, so each is a
// row, as every unchanged report was before migrations/0012). One run per backend prints both side by side.
// Run: bench/heartbeats/run.sh (builds release, starts a throwaway PostgreSQL, runs this on both).
import Foundation
import Report
import Store
import StorePostgres
import StoreSQLite
import Synthetic

struct Options {
    var hosts = 1000
    var rounds = 100
    var sqliteDir: String?
    var postgres: [String] = []
    var vacuum: String?

    init(_ args: [String]) {
        var i = 0
        while i + 1 < args.count {
            switch args[i] {
            case "--hosts": hosts = Int(args[i + 1]) ?? hosts
            case "--rounds": rounds = Int(args[i + 1]) ?? rounds
            case "--sqlite-dir": sqliteDir = args[i + 1]
            case "--postgres": postgres.append(args[i + 1])
            case "--vacuum": vacuum = args[i + 1]
            default: fatalError("unknown option \(args[i]); options: --hosts N --rounds R --sqlite-dir DIR --postgres URL (twice) --vacuum CMD")
            }
            i += 2
        }
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))

/// The first report of each synthetic host, moved `round` hours on, with its own id.
func round(_ base: [Report], _ round: Int, alternate: Bool) -> [Report] {
    base.map { r in
        var r = r
        r.reportId = "\(r.reportId)-r\(round)"
        r.collectedAt = r.collectedAt.addingTimeInterval(Double(round) * 3600)
        if alternate && round % 2 == 1 { r.collectorVersion += "+odd" }
        return r
    }
}

struct Figure {
    var heartbeats: Int
    var rows: Int
    var bytes: Int64
    var seconds: Double
}

/// `settle` runs after the first reports and at the end (its answer is the database's size); `hourly`
/// after each round, as autovacuum would between hours on PostgreSQL.
func measure(_ open: () throws -> Registry, settle: (Registry) throws -> Int64, hourly: () -> Void = {}, alternate: Bool) throws -> Figure {
    let registry = try open()
    let fleet = SyntheticFleet(hosts: options.hosts, days: 1, seed: 11)
    let base = (0..<options.hosts).compactMap { fleet.report(host: $0, day: 0) }
    _ = try registry.ingest(round(base, 0, alternate: alternate))
    let before = try settle(registry)
    let rowsBefore = try registry.reportCount()
    let start = Date()
    var beats = 0
    for r in 1...options.rounds {
        for chunk in stride(from: 0, to: base.count, by: 500) {
            let results = try registry.ingest(Array(round(base, r, alternate: alternate)[chunk..<min(chunk + 500, base.count)]))
            beats += results.filter(\.heartbeat).count
        }
        hourly()
    }
    let seconds = Date().timeIntervalSince(start)
    let after = try settle(registry)
    return Figure(heartbeats: beats, rows: try registry.reportCount() - rowsBefore, bytes: after - before, seconds: seconds)
}

func vacuum() {
    guard let command = options.vacuum else { return }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    try? p.run()
    p.waitUntilExit()
}

/// ROWS=0 measures heartbeats only (the rows figure does not change with heartbeat work).
let withRows = ProcessInfo.processInfo.environment["ROWS"] != "0"
var table: [(String, Figure, Figure?)] = []
if let dir = options.sqliteDir {
    func sqlite(_ name: String) -> () throws -> Registry {
        { let path = dir + "/" + name; for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) }; return try Registry.sqlite(path: path) }
    }
    let settle: (Registry) throws -> Int64 = { r in try r.close(); return r.database.storedBytes() }
    table.append(("SQLite", try measure(sqlite("beats.sqlite"), settle: settle, alternate: false),
                  withRows ? try measure(sqlite("rows.sqlite"), settle: settle, alternate: true) : nil))
}
if options.postgres.count == 2 {
    let settle: (Registry) throws -> Int64 = { r in vacuum(); return r.database.storedBytes() }
    // VACUUM after each hour's round, as autovacuum would (its default threshold is a fifth of a table's rows
    // dead: the hosts table gets there within each hour), so that dead row versions of the updated hosts and
    // heartbeat rows are reused rather than counted as growth.
    table.append(("PostgreSQL", try measure({ Registry(try PostgresDatabase(url: options.postgres[0])) }, settle: settle, hourly: vacuum, alternate: false),
                  withRows ? try measure({ Registry(try PostgresDatabase(url: options.postgres[1])) }, settle: settle, hourly: vacuum,
                                         alternate: true) : nil))
}

print("\(options.hosts) hosts x \(options.rounds) unchanged reports each (one an hour)")
print("| backend | kept as | reports | reports rows added | heartbeats | database growth | bytes per report | ingest reports/s |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
let total = options.hosts * options.rounds
for (name, beats, rows) in table {
    for (kind, f) in [("heartbeats", beats), ("reports rows (before 0012)", rows)] as [(String, Figure?)] {
        guard let f else { continue }
        print("| \(name) | \(kind) | \(total) | \(f.rows) | \(f.heartbeats) | \(f.bytes) | \(String(format: "%.1f", Double(f.bytes) / Double(total))) | \(String(format: "%.0f", Double(total) / f.seconds)) |")
    }
}
