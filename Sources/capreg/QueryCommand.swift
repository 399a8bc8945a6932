import API
import ArgumentParser
import Decoders
import Foundation
import Query
import Store
import Timestamps

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "List the hosts matching an expression, now or as of a time.",
        discussion: """
        EXPR uses capreg's query language (docs/queries.md), e.g.
          capreg query 'pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20'
        Names are the vocabulary's (capreg vocabulary), plus kernel (compared as versions: kernel >= "5.10") \
        and label.KEY. A predicate on a fact a host did not report is unknown: it matches neither way. \
        Without EXPR every host is listed.

        Columns: hostname, kernel and --fields (default: the names EXPR uses). --json prints an array of \
        objects with every fact (or only --fields). Hosts come in hostname order, --limit per page; when more \
        remain, the cursor for the next page is printed (on standard error for --json and --csv).

        With --server URL the same question goes to a running `capreg serve` (GET /v1/hosts) instead of \
        --db; --token (or CAPREG_TOKEN) is a reader token when the server has tokens.

        --explain also lists (one page of) the hosts that did not match, each with the predicates that failed \
        and the host's values, e.g. `pasid_bits = 8, needs >= 20` or `vtd.ecap.nest unknown (never reported)`. \
        --fresh-within DURATION (90s, 30m, 2h, 7d, or off) leaves out hosts whose newest report is older. The \
        default is the server's --stale-after with --server and the same default (2h) with --db; every answer \
        says how many matching hosts were left out as stale (the table's last line; on standard error for \
        --json and --csv).

        Exit status: 0 answered (even with no hosts), 65 expression or field refused (the message points at \
        the position), 66 no database at --db, 64 usage error, 69 server unreachable or failing, 77 token \
        missing or refused.
        """
    )

    @Argument(help: "Query expression; omitted: every host.")
    var expression: String?

    @Option(name: .customLong("as-of"), help: ArgumentHelp("Answer as of this time (RFC 3339, e.g. 2025-01-05T12:00:00Z, or a date: midnight UTC).",
                                                           valueName: "time"))
    var asOf: String?

    @Option(name: .customLong("as-of-revision"),
            help: ArgumentHelp("Answer against the registry as it stood at this revision (printed with every table answer).", valueName: "N"))
    var asOfRevision: Int64?

    @Option(help: ArgumentHelp("Columns after hostname and kernel: vocabulary names, label.KEY; hostname, kernel, reported_at and age_seconds are accepted and add none.", valueName: "a,b,…"))
    var fields: String?

    @Option(help: "Hosts per page (1…\(HostQueryLimits.max)).")
    var limit = HostQueryLimits.default

    @Option(help: "Continue after a previous page (the cursor it printed).")
    var cursor: String?

    @Flag(help: "Print a JSON array of objects.")
    var json = false

    @Flag(help: "Print CSV (RFC 4180).")
    var csv = false

    @Flag(help: "Also list the hosts that did not match, with the predicate and value that failed.")
    var explain = false

    @Option(name: .customLong("fresh-within"), help: ArgumentHelp("Leave out hosts whose newest report is older (90s, 30m, 2h, 7d, off; default: serve's --stale-after, 2h).",
                                                                  valueName: "duration"))
    var freshWithin: String?

    @Option(help: ArgumentHelp("Ask a running registry (capreg serve) instead of --db.", valueName: "url"))
    var server: String?

    @Option(help: "Bearer token for --server (default: $CAPREG_TOKEN).")
    var token: String?

    @OptionGroup var tls: TLSClientOptions

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if json && csv { throw ValidationError("give --json or --csv, not both") }
        if server == nil && (tls.ca != nil || tls.clientCert != nil || tls.clientKey != nil) {
            throw ValidationError("--ca, --client-cert and --client-key go with --server https://…")
        }
        if explain && csv { throw ValidationError("--explain prints a table or --json, not --csv") }
        if let freshWithin, freshWithin != "off" {
            do { _ = try DurationText.parse(freshWithin) } catch { throw ValidationError("--fresh-within \(error.text): \(error.reason), or off") }
        }
        if !(1...HostQueryLimits.max).contains(limit) { throw ValidationError("--limit must be within 1…\(HostQueryLimits.max)") }
        if asOf != nil && asOfRevision != nil { throw ValidationError("give --as-of or --as-of-revision, not both") }
        if let asOfRevision, asOfRevision < 1 { throw ValidationError("--as-of-revision must be 1 or more") }
        if let asOf {
            do { _ = try RFC3339.parse(asOf, allowingDate: true) } catch { throw ValidationError("--as-of \(asOf): \(error)") }
        }
    }

    func run() throws {
        var expr: QueryExpr?
        var columns: [QueryTerm] = []
        do {
            if let expression { expr = try QueryParser.parse(expression) }
        } catch {
            QueryText.printRefusal(error, in: expression ?? "", command: "capreg query")
            throw ExitCode(65)
        }
        do {
            columns = try fields.map { text throws(QueryError) in try QueryParser.fields(text) } ?? expr?.terms ?? []
        } catch {
            QueryText.printRefusal(error, in: fields ?? "", command: "capreg query", what: "--fields ")
            throw ExitCode(65)
        }
        let factNames = Set(columns.compactMap { if case .fact(let name, _) = $0 { name } else { nil } })
        if let server {
            let answer: RemoteQuery.Answer
            do {
                answer = try RemoteQuery.page(server: server, token: token ?? ProcessInfo.processInfo.environment["CAPREG_TOKEN"], tls: tls.resolved(),
                                              expression: expression, asOf: asOf.flatMap(QueryCommand.time), asOfRevision: asOfRevision,
                                              fields: json && fields == nil ? nil : factNames.sorted(), limit: limit, cursor: cursor,
                                              explain: explain, freshWithin: freshWithin)
            } catch RemoteQuery.Failure.refused(_, let message, let position, let parameter) {
                printError("capreg query: \(message)")
                if let position, parameter == "where" { printError("  " + QueryText.indented(QueryError(.syntax, at: position, ""), expression ?? "")) }
                throw ExitCode(parameter == "where" || parameter == "fields" ? 65 : 64)
            } catch RemoteQuery.Failure.unauthorized(let message) {
                printError("capreg query: \(message)")
                throw ExitCode(77)
            } catch RemoteQuery.Failure.unavailable(let message) {
                printError("capreg query: \(message)")
                throw ExitCode(69)
            }
            show(answer.page, revision: answer.revision, stale: answer.staleTotal, columns: columns, notMatching: answer.notMatching,
                 notMatchingTotal: answer.notMatchingTotal)
            return
        }
        guard try store.location.exists else {
            printError("capreg query: no registry database at \(store.db) (create one with capreg ingest or capreg synth --ingest, or give --db)")
            throw ExitCode(66)
        }
        let answer: HostAnswer
        do {
            // JSON without --fields carries every fact; otherwise only the columns' facts are read.
            // No --fresh-within: serve's default, so --db and --server leave out the same hosts.
            let bound = freshWithin ?? ServeCommand.defaultStaleAfter
            let fresh = bound == "off" ? nil : try DurationText.parse(bound).timeInterval
            let reference = asOfRevision.map(QueryReference.revision) ?? asOf.flatMap(QueryCommand.time).map(QueryReference.time) ?? .now
            answer = try store.open().answer(HostQueryRequest(expr, reference: reference,
                                                              fields: json && fields == nil ? nil : factNames, limit: limit, cursor: cursor,
                                                              freshWithin: fresh, notMatching: explain))
        } catch let error as HostQueryError {
            printError("capreg query: \(error)")
            throw ExitCode(64)
        } catch let error as HostAnswerError {
            printError("capreg query: " + (error == .devicesNowOnly ? "" : "--as-of-revision: ") + error.description)
            throw ExitCode(64)
        }
        let explained = answer.notMatching.map { page in
            page.hosts.map { host in
                RemoteQuery.Explained(hostname: host.hostname, reasons: expr.map { QueryExplainer(host.evaluator).reasons($0).map(\.message) } ?? [])
            }
        }
        show(answer.matches, revision: answer.revision, stale: answer.staleTotal, columns: columns, notMatching: explained, notMatchingTotal: answer.notMatchingTotal)
    }

    /// The page as a table, CSV or JSON; the cursor of the next page after it; with --explain the hosts
    /// that did not match. The table says the revision it was read at, which --as-of-revision asks again,
    /// and how many matching hosts were left out as stale (`stale`, nil without a freshness bound).
    func show(_ page: HostPage, revision: Int64, stale: Int?, columns: [QueryTerm], notMatching: [RemoteQuery.Explained]? = nil,
              notMatchingTotal: Int? = nil) {
        let shown = columns.filter { $0 != .kernel }
        let staleNote = QueryOutput.staleNote(stale)
        if json, let notMatching {
            print(QueryOutput.explainedJSON(page.hosts, notMatching: notMatching, total: notMatchingTotal), terminator: "")
        } else if json {
            print(QueryOutput.json(page.hosts), terminator: "")
        } else if csv {
            print(QueryOutput.csv(page.hosts, columns: shown), terminator: "")
        } else {
            print(QueryOutput.table(page.hosts, columns: shown), terminator: "")
            print("\(page.hosts.count) host\(page.hosts.count == 1 ? "" : "s") at revision \(revision)"
                  + (staleNote.map { " (\($0))" } ?? "") + (page.nextCursor.map { "; more with --cursor \($0)" } ?? ""))
            if let notMatching {
                print("\nnot matching: \(notMatchingTotal ?? notMatching.count) host\((notMatchingTotal ?? notMatching.count) == 1 ? "" : "s")"
                      + (notMatching.count < (notMatchingTotal ?? 0) ? " (first \(notMatching.count) shown)" : ""))
                let width = notMatching.map(\.hostname.count).max() ?? 0
                for host in notMatching {
                    print("  " + host.hostname.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + host.reasons.joined(separator: "; "))
                }
            }
            return
        }
        // JSON and CSV keep standard output a plain document: the note goes where the cursor goes.
        if let staleNote { printError(staleNote) }
        if let next = page.nextCursor { printError("more with --cursor \(next)") }
    }

    /// A time a person typed (--as-of, synth --start): RFC3339.parse, a date allowed.
    static func time(_ text: String) -> Date? { try? RFC3339.parse(text, allowingDate: true) }
}
