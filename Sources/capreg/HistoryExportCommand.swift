import API
import ArgumentParser
import Foundation
import RegistryClient
import Store
import Timestamps

/// `capreg export history`: the registry's history (or a window of it) as files for auditors.
struct ExportHistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The registry's history as JSON Lines or CSV files with a manifest of counts and checksums, for auditors.",
        discussion: """
        Writes into --out (a new or empty directory) one file per table: reports (each with its payload as \
        received), facts and capabilities (their validity intervals; raw bytes in hex), retractions and \
        heartbeats; then manifest.json with each file's columns and types, rows, bytes and SHA-256, written \
        last: a directory with a manifest is a finished export. Everything is read in one transaction, so \
        the files agree with each other. --since/--until keep reports collected in [since, until), the \
        intervals that overlap it, retractions of those reports and heartbeats in it.

        --format csv writes RFC 4180 CSV with a header and one type per column (times RFC 3339 UTC, bytes \
        hex, absent empty), loadable as Parquet; text a spreadsheet would run as a formula is written as ' + \
        text (docs/audits.md). JSON Lines is lossless: capreg import-history reads it back into a registry.

        Reads --db in one read transaction, or a running registry with --server (GET /v1/exports/history, \
        an admin token: pages of 10,000 rows, each read at its own moment, so rows written meanwhile may \
        or may not be in it; for one snapshot, read --db).

        Exit status: 0 written; 64 usage; 66 no database at --db; 69 the registry unreachable or failing; \
        73 --out not a new or empty directory; 77 a token refused.
        """
    )

    @Option(help: ArgumentHelp("The directory to write (created; must be empty).", valueName: "dir"))
    var out: String

    @Option(help: ArgumentHelp("jsonl (lossless, importable) or csv (for analytics tools).", valueName: "jsonl|csv"))
    var format = "jsonl"

    @Option(help: ArgumentHelp("Only history from this time: RFC 3339, a date, or a duration ago (30d).", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only history before this time (as --since).", valueName: "time"))
    var until: String?

    @OptionGroup var source: ReportSourceOptions

    func validate() throws {
        guard HistoryFiles.Encoding(rawValue: format) != nil else { throw ValidationError("--format must be jsonl or csv") }
        let window = try self.window(now: Date())
        if let s = window.since, let u = window.until, s >= u { throw ValidationError("--since must be before --until") }
    }

    func window(now: Date) throws -> HistoryWindow {
        HistoryWindow(since: try since.map { try TimeArgument.parse($0, option: "--since", now: now) },
                      until: try until.map { try TimeArgument.parse($0, option: "--until", now: now) })
    }

    func run() throws {
        let now = Date()
        let window = try self.window(now: now)
        let encoding = HistoryFiles.Encoding(rawValue: format)!
        do {
            let manifest: JSONValue
            if source.server != nil {
                manifest = try HistoryFiles.write(window: window, encoding: encoding, directory: out, now: now) { emit in
                    try RemoteHistory.read(source, window: window, emit)
                }
            } else {
                guard try source.store.location.exists else {
                    printError("capreg export history: no registry database at \(source.store.db) (give --db, or --server URL)")
                    throw ExitCode(66)
                }
                let registry = try source.store.open()
                defer { try? registry.close() }
                manifest = try HistoryFiles.write(window: window, encoding: encoding, directory: out, now: now) { emit in
                    try registry.exportHistory(window, emit)
                }
            }
            let object = try ReportDocument.object(manifest.bytes)
            let counts = (object["files"] as? [[String: Any]] ?? []).map { "\($0["rows"] ?? 0) \($0["table"] ?? "")" }
            printError("capreg export history: \(out): \(counts.joined(separator: ", ")) (revision \(object["revision"] ?? 0)); manifest.json lists their checksums")
        } catch let failure as HistoryFiles.Failure {
            printError("capreg export history: \(failure.message)")
            throw ExitCode(73)
        } catch let failure as RemoteHistory.Failure {
            printError("capreg export history: \(failure.message)")
            throw ExitCode(failure.exitCode)
        }
    }
}

/// `capreg export history --server`: every table, page by page, from GET /v1/exports/history.
enum RemoteHistory {
    struct Failure: Error {
        var message: String
        var exitCode: Int32
    }

    /// Emits every row of every table; answers the revision the first page was read at.
    static func read(_ source: ReportSourceOptions, window: HistoryWindow, _ emit: (HistoryTable, [HistoryCell]) throws -> Void) throws -> Int64 {
        let server = source.server!
        let client: APIClient
        do {
            client = try APIClient(baseURL: server, token: source.token ?? ProcessInfo.processInfo.environment["CAPREG_TOKEN"], tls: source.tls.resolved())
        } catch {
            throw Failure(message: "\(server): \(error)", exitCode: 69)
        }
        var revision: Int64?
        for table in HistoryTable.allCases {
            var cursor: String?
            repeat {
                var items: [(String, String)] = [("table", table.rawValue), ("limit", String(Registry.maxHistoryPageRows))]
                if let since = window.since { items.append(("since", RFC3339.format(since))) }
                if let until = window.until { items.append(("until", RFC3339.format(until))) }
                if let cursor { items.append(("cursor", cursor)) }
                let response: APIClient.Response
                do {
                    response = try client.get(APIClient.target("/v1/exports/history", items))
                } catch {
                    throw Failure(message: "\(server): \(error)", exitCode: 69)
                }
                guard response.status == 200 else {
                    let refusal = WatchFailure(refusal: response, server: server, question: [])
                    throw Failure(message: refusal.message, exitCode: response.status == 400 ? 64 : refusal.exitCode)
                }
                guard let page = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                      let rows = page["rows"] as? [[Any]] else {
                    throw Failure(message: "\(server): a history page that is not the documented JSON", exitCode: 69)
                }
                if revision == nil { revision = (page["revision"] as? NSNumber)?.int64Value }
                let columns = table.columns
                for row in rows {
                    guard row.count == columns.count else { throw Failure(message: "\(server): a \(table.rawValue) row of \(row.count) cells", exitCode: 69) }
                    let cells = try zip(columns, row).map { column, any -> HistoryCell in
                        guard let cell = HistoryPageJSON.cell(column.kind, from: any) else {
                            throw Failure(message: "\(server): \(table.rawValue).\(column.name): not a \(column.kind.rawValue)", exitCode: 69)
                        }
                        return cell
                    }
                    try emit(table, cells)
                }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
        }
        return revision ?? 0
    }
}

/// `capreg import-history DIR`: checks an export against its manifest, then loads it into a registry.
struct ImportHistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-history",
        abstract: "Check an export of capreg export history against its manifest, then load its reports and retractions into an empty registry.",
        discussion: """
        First every file is checked against manifest.json (bytes, SHA-256, rows); the first that differs is \
        named and nothing is written. With --verify-only that is all (JSON Lines or CSV). Otherwise the \
        export must be JSON Lines and --db a registry without reports: each report is stored again from its \
        payload as received, with its received time and writer, and each retraction made again with its \
        reason and time, in the order of their revisions; facts and capabilities are decoded anew by this \
        capreg's decoders. Heartbeats are not stored again (they change no fact; hosts' last-seen times stay \
        those of their reports).

        Exit status: 0 checked (and loaded); 64 usage; 65 the export differs from its manifest, is CSV, or \
        holds a report that does not decode; 66 no such directory; 73 --db already holds reports.
        """
    )

    @Argument(help: "The export's directory (with manifest.json).")
    var directory: String

    @Flag(help: "Only check the files against the manifest.")
    var verifyOnly = false

    @OptionGroup var store: StoreOptions

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            printError("capreg import-history: no directory \(directory)")
            throw ExitCode(66)
        }
        let checked: (encoding: HistoryFiles.Encoding, entries: [HistoryFiles.Entry])
        do {
            checked = try HistoryFiles.verify(directory: directory)
        } catch let failure as HistoryFiles.Failure {
            printError("capreg import-history: \(failure.message)")
            throw ExitCode(65)
        }
        let rows = checked.entries.map { "\($0.rows) \($0.table.rawValue)" }.joined(separator: ", ")
        if verifyOnly {
            printError("capreg import-history: \(directory) matches its manifest: \(rows)")
            return
        }
        guard checked.encoding == .jsonl else {
            printError("capreg import-history: \(directory) is a CSV export (for analytics tools: its text may be formula-guarded); load the JSON Lines export")
            throw ExitCode(65)
        }
        let registry = try store.open()
        defer { try? registry.close() }
        guard try registry.reportCount() == 0 else {
            printError("capreg import-history: \(store.db) already holds reports; load an export into an empty registry")
            throw ExitCode(73)
        }
        do {
            let loaded = try HistoryImport.load(directory: directory, into: registry)
            printError("capreg import-history: \(directory) matches its manifest (\(rows)); stored \(loaded.reports) reports and \(loaded.retractions) retractions in \(store.db)")
        } catch let failure as HistoryFiles.Failure {
            printError("capreg import-history: \(failure.message)")
            throw ExitCode(65)
        }
    }
}
