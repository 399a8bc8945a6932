// Store figures: ingest through Registry beside the same rows inserted by plain SQL (the engine's
// limit), database bytes per host-version, and as-of / change-feed query times.
// Run: swift run -c release capreg-store-bench [--hosts 100000] [--versions 5] [--batch 1000] [--dir DIR]
import Foundation
import GRDB
import Report
import Store
import StoreSQLite
import Synthetic

struct Options {
    var hosts = 100_000
    var versions = 5
    var batch = 1000
    var dir = NSTemporaryDirectory()

    init(_ args: [String]) {
        var i = 0
        while i + 1 < args.count {
            switch args[i] {
            case "--hosts": hosts = Int(args[i + 1]) ?? hosts
            case "--versions": versions = Int(args[i + 1]) ?? versions
            case "--batch": batch = Int(args[i + 1]) ?? batch
            case "--dir": dir = args[i + 1]
            default: fatalError("unknown option \(args[i]); options: --hosts N --versions V --batch B --dir DIR")
            }
            i += 2
        }
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// CPU seconds of the whole process (every thread: the store decodes beside its writer). On a shared
/// machine the wall-clock ratio moves with other load; the CPU figures show the work itself.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func fileSize(_ path: String) -> Int {
    ["", "-wal", "-shm"].reduce(0) { total, suffix in
        total + ((try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0)
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let run = UUID().uuidString.prefix(8)
let storePath = (options.dir as NSString).appendingPathComponent("capreg-bench-store-\(run).sqlite")
let plainPath = (options.dir as NSString).appendingPathComponent("capreg-bench-plain-\(run).sqlite")
defer { for p in [storePath, plainPath] { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: p + s) } } }

let fleet = SyntheticFleet(hosts: options.hosts, days: options.versions, seed: 1)
let hostVersions = options.hosts * options.versions
print("capreg store bench: \(options.hosts) hosts × \(options.versions) versions = \(hostVersions) reports, batch \(options.batch), synchronous NORMAL, WAL")

// 1. Through the store's API: decode, diff against the current state, version, in one transaction per batch.
let store = try Registry.sqlite(path: storePath, batchSize: options.batch)
var generate = 0.0
var outcomes: [IngestOutcome: Int] = [:]
var storeTime = 0.0, storeCPU = 0.0
let chunk = options.batch * 10  // reports per ingest call; the store commits every `batch`
for version in 0..<options.versions {
    var host = 0
    while host < options.hosts {
        let end = min(host + chunk, options.hosts)
        var reports: [Report] = []
        generate += seconds { reports = (host..<end).map { fleet.versionedReports(host: $0, versions: version + 1)[version] } }
        let cpu = cpuSeconds()
        storeTime += try seconds {
            for r in try store.ingest(reports) { outcomes[r.outcome, default: 0] += 1 }
        }
        storeCPU += cpuSeconds() - cpu
        host = end
    }
}
try store.close()
let storeRate = Double(hostVersions) / storeTime
print(String(format: "store API ingest:   %8.0f reports/s  (%.1f s, cpu %.1f s; report generation %.1f s not counted)", storeRate, storeTime,
             storeCPU, generate))
print("  outcomes: " + outcomes.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))

// 2. The same rows by plain INSERTs into the same schema, one transaction per batch of reports.
struct Table {
    var name: String
    var columns: [String]
    var rows: [[DatabaseValue]]
    var reportOf: [Int64]  // the report row that wrote each row, for batching like the store did
}
func load(_ db: Database, _ name: String, report: String) throws -> Table {
    let columns = try db.columns(in: name).map(\.name)
    var table = Table(name: name, columns: columns, rows: [], reportOf: [])
    let cursor = try Row.fetchCursor(db, sql: "SELECT \(columns.joined(separator: ", ")), \(report) FROM \(name) ORDER BY \(report)")
    while let row = try cursor.next() {
        table.rows.append((0..<columns.count).map { row[$0] as DatabaseValue })
        table.reportOf.append(row[columns.count] as Int64)
    }
    return table
}
let source = try DatabaseQueue(path: storePath)
let tables = try source.read { db in
    [try load(db, "hosts", report: "(SELECT min(id) FROM reports WHERE reports.host_id = hosts.id)"), try load(db, "reports", report: "id"),
     try load(db, "facts", report: "opened_by"), try load(db, "capability_versions", report: "opened_by"),
     try load(db, "current_facts", report: "(SELECT current_report_id FROM hosts WHERE hosts.id = host_id)"),
     try load(db, "host_labels", report: "(SELECT current_report_id FROM hosts WHERE hosts.id = host_id)")]
}
let rowCount = tables.reduce(0) { $0 + $1.rows.count }
_ = try Registry.sqlite(path: plainPath)  // same schema and indexes
var plainConfig = Configuration()
plainConfig.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
// Final rows reference later reports (closed_by), so foreign keys are off here; the store checks them.
plainConfig.foreignKeysEnabled = false
let plain = try DatabasePool(path: plainPath, configuration: plainConfig)
var cursors = [Int](repeating: 0, count: tables.count)
let plainCPUStart = cpuSeconds()
let plainTime = try seconds {
    var upTo = Int64(options.batch)
    while cursors.enumerated().contains(where: { $0.element < tables[$0.offset].rows.count }) {
        try plain.write { db in
            for (t, table) in tables.enumerated() {
                let statement = try db.cachedStatement(sql: "INSERT INTO \(table.name) (\(table.columns.joined(separator: ", "))) VALUES (\(table.columns.map { _ in "?" }.joined(separator: ", ")))")
                while cursors[t] < table.rows.count && table.reportOf[cursors[t]] <= upTo {
                    try statement.execute(arguments: StatementArguments(table.rows[cursors[t]]))
                    cursors[t] += 1
                }
            }
        }
        upTo += Int64(options.batch)
    }
}
let plainCPU = cpuSeconds() - plainCPUStart
let plainRate = Double(hostVersions) / plainTime
print(String(format: "plain SQL inserts:  %8.0f reports/s  (%.1f s, cpu %.1f s, %d rows, %.0f rows/s)", plainRate, plainTime, plainCPU,
             rowCount, Double(rowCount) / plainTime))
print(String(format: "ratio store/plain:  %8.2f  (cpu plain/store %.2f)", storeRate / plainRate, plainCPU / storeCPU))

// 3. Size and queries.
let bytes = fileSize(storePath)
print(String(format: "database: %.1f MB, %.0f bytes per host-version", Double(bytes) / 1e6, Double(bytes) / Double(hostVersions)))
let middle = fleet.start.addingTimeInterval(Double(options.versions / 2) * 86_400 + 43_200)
var asOfHosts = 0
let asOfFleet = try seconds { asOfHosts = try store.factsAsOf(middle).count }
let oneHost = try seconds { _ = try store.factsAsOf(middle, hostname: String(format: "host-%06d", options.hosts / 2)) }
var hourChanges = 0, dayChanges = 0
// Around the first upgrade (5.4 → 5.15 adds VFIO capabilities): every host changes within that day.
let firstUpgrade = fleet.start.addingTimeInterval(86_400 + 43_200)
let hourFeed = try seconds { hourChanges = try store.changes(from: firstUpgrade, to: firstUpgrade.addingTimeInterval(3600)).count }
let dayFeed = try seconds { dayChanges = try store.changes(from: firstUpgrade.addingTimeInterval(-86_400), to: firstUpgrade).count }
// One page (100 hosts) of each, from the middle of the fleet, as the API reads them.
let pageAfter = String(format: "host-%06d", options.hosts / 2)
var asOfPageHosts = 0, feedPageHosts = 0
let asOfPage = try seconds { asOfPageHosts = try store.factsAsOfPage(middle, after: pageAfter, limit: 100).items.count }
let feedPage = try seconds {
    feedPageHosts = try store.changesPage(from: firstUpgrade.addingTimeInterval(-86_400), to: firstUpgrade, after: pageAfter, limit: 100).items.count
}
print(String(format: "as-of, whole fleet:      %8.1f ms (%d hosts)", asOfFleet * 1000, asOfHosts))
print(String(format: "as-of, one page:         %8.1f ms (%d hosts)", asOfPage * 1000, asOfPageHosts))
print(String(format: "as-of, one host:         %8.3f ms", oneHost * 1000))
print(String(format: "change feed, 1 hour:     %8.1f ms (%d hosts changed)", hourFeed * 1000, hourChanges))
print(String(format: "change feed, 1 day:      %8.1f ms (%d hosts changed)", dayFeed * 1000, dayChanges))
print(String(format: "change feed, 1 day, one page: %3.1f ms (%d hosts)", feedPage * 1000, feedPageHosts))
