import ArgumentParser
import Decoders
import Foundation
import Query
import Store

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "List the hosts matching an expression, now or as of a time.",
        discussion: """
        EXPR uses capreg's query language (docs/queries.md), e.g.
          capreg query 'pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20'
        Names are the vocabulary's (capreg vocabulary), plus kernel (compared as versions: kernel >= "5.10")
        and label.KEY. A predicate on a fact a host did not report is unknown: it matches neither way.
        Without EXPR every host is listed.

        Columns: hostname, kernel and --fields (default: the names EXPR uses). --json prints an array of
        objects with every fact (or only --fields). Hosts come in hostname order, --limit per page; when more
        remain, the cursor for the next page is printed (on standard error for --json and --csv).

        Exit status: 0 answered (even with no hosts), 65 expression or field refused (the message points at
        the position), 66 no database at --db, 64 usage error.
        """
    )

    @Argument(help: "Query expression; omitted: every host.")
    var expression: String?

    @Option(name: .customLong("as-of"), help: ArgumentHelp("Answer as of this time (ISO 8601, e.g. 2025-01-05T12:00:00Z, or a date).",
                                                           valueName: "time"))
    var asOf: String?

    @Option(help: ArgumentHelp("Columns after hostname and kernel: vocabulary names, kernel, label.KEY.", valueName: "a,b,…"))
    var fields: String?

    @Option(help: "Hosts per page (1…\(HostQueryLimits.max)).")
    var limit = HostQueryLimits.default

    @Option(help: "Continue after a previous page (the cursor it printed).")
    var cursor: String?

    @Flag(help: "Print a JSON array of objects.")
    var json = false

    @Flag(help: "Print CSV (RFC 4180).")
    var csv = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if json && csv { throw ValidationError("give --json or --csv, not both") }
        if !(1...HostQueryLimits.max).contains(limit) { throw ValidationError("--limit must be within 1…\(HostQueryLimits.max)") }
        if let asOf, QueryCommand.time(asOf) == nil {
            throw ValidationError("--as-of \(asOf): expected an ISO 8601 time (2025-01-05T12:00:00Z) or a date (2025-01-05)")
        }
    }

    func run() throws {
        var expr: QueryExpr?
        var columns: [QueryTerm] = []
        do {
            if let expression { expr = try QueryParser.parse(expression) }
        } catch {
            printError("capreg query: \(error)\n  " + error.pointing(into: expression ?? "").replacingOccurrences(of: "\n", with: "\n  "))
            throw ExitCode(65)
        }
        do {
            columns = try fields.map(QueryCommand.columns) ?? expr?.terms ?? []
        } catch {
            printError("capreg query: --fields \(error)\n  " + error.pointing(into: fields ?? "").replacingOccurrences(of: "\n", with: "\n  "))
            throw ExitCode(65)
        }
        guard FileManager.default.fileExists(atPath: store.db) else {
            printError("capreg query: no registry database at \(store.db) (create one with capreg ingest or capreg synth --ingest, or give --db)")
            throw ExitCode(66)
        }
        let factNames = Set(columns.compactMap { if case .fact(let name, _) = $0 { name } else { nil } })
        let page: HostPage
        do {
            // JSON without --fields carries every fact; otherwise only the columns' facts are read.
            page = try store.open().queryHosts(expr, asOf: asOf.flatMap(QueryCommand.time), fields: json && fields == nil ? nil : factNames,
                                               limit: limit, after: cursor)
        } catch let error as HostQueryError {
            printError("capreg query: \(error)")
            throw ExitCode(64)
        }
        let shown = columns.filter { $0 != .kernel }
        if json {
            print(QueryOutput.json(page.hosts), terminator: "")
        } else if csv {
            print(QueryOutput.csv(page.hosts, columns: shown), terminator: "")
        } else {
            print(QueryOutput.table(page.hosts, columns: shown), terminator: "")
            print("\(page.hosts.count) host\(page.hosts.count == 1 ? "" : "s")" + (page.nextCursor.map { "; more with --cursor \($0)" } ?? ""))
            return
        }
        if let next = page.nextCursor { printError("more with --cursor \(next)") }
    }

    /// --fields parsed like names in an expression, with the same refusals and suggestions.
    static func columns(_ text: String) throws(QueryError) -> [QueryTerm] {
        var out: [QueryTerm] = []
        var offset = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: .whitespaces)
            let at = offset + (part.count - part.drop { $0 == " " }.count)
            offset += part.count + 1
            if name.isEmpty { continue }
            let term = try QueryParser.term(name, at: at)
            if !out.contains(term) { out.append(term) }
        }
        return out
    }

    static func time(_ text: String) -> Date? {
        let full = ISO8601DateFormatter()
        if let d = full.date(from: text) { return d }
        full.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = full.date(from: text) { return d }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        return day.date(from: text)
    }
}
