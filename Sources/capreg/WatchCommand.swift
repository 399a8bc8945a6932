import API
import ArgumentParser
import Decoders
import Foundation
import Query
import RegistryClient
import Server
import Store
import Timestamps

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print the registry's change stream: hosts changed, retracted, gone stale, fresh again.",
        discussion: """
        With EXPR only the hosts that match it before or after an event are printed, each marked with \
        whether it matches now (so a host leaving the set is seen too). One line per event: its id, time, \
        kind, host, and for a change the kernel and facts before and after (evidence texts counted, not \
        printed); --json prints each event as GET /v1/watch gives it, one per line.

        From now on by default; --since ID resumes after an event printed before (ids are in every line). \
        --once prints what is there and exits instead of following.

        With --server URL the stream comes from a running `capreg serve` (long polls of GET /v1/watch); \
        otherwise from --db, read every half second. Stale and fresh events are written by a running \
        server: a registry nobody serves has none new.

        Exit status: 0 (--once: printed; following: stopped by a signal), 65 expression refused or --since \
        no longer kept (the message says the oldest it can resume from), 66 no database at --db, 69 server \
        unreachable or failing, 77 token missing or refused.
        """
    )

    @Argument(help: "Query expression; omitted: every host.")
    var expression: String?

    @Option(help: ArgumentHelp("Print the events after this one (an id printed before); default: from now.", valueName: "id"))
    var since: Int64?

    @Flag(help: "Print what is there after --since and exit.")
    var once = false

    @Flag(help: "Print each event as a JSON object, one per line.")
    var json = false

    @Option(help: ArgumentHelp("Follow a running registry (capreg serve) instead of --db.", valueName: "url"))
    var server: String?

    @Option(help: "Bearer token for --server (default: $CAPREG_TOKEN).")
    var token: String?

    @OptionGroup var tls: TLSClientOptions

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if let since, since < 0 { throw ValidationError("--since must be 0 or more") }
        if server == nil && (tls.ca != nil || tls.clientCert != nil || tls.clientKey != nil) {
            throw ValidationError("--ca, --client-cert and --client-key go with --server https://…")
        }
    }

    func run() throws {
        let filter = try QueryText.filter(expression, command: "capreg watch")
        if filter?.readsDevices == true {
            printError("capreg watch: devices(…) reads each host's current devices only; it cannot filter the change stream's past states")
            throw ExitCode(65)
        }
        let source: any WatchSource
        if let server {
            source = try RemoteWatch(server: server, token: token ?? ProcessInfo.processInfo.environment["CAPREG_TOKEN"],
                                     tls: tls.resolved(), expression: expression)
        } else {
            guard try store.location.exists else {
                printError("capreg watch: no registry database at \(store.db) (give --db, or --server URL)")
                throw ExitCode(66)
            }
            source = LocalWatch(registry: try store.open(), filter: filter)
        }
        var position: Int64
        do {
            position = try source.start(since: since)
            if since == nil && !once { printError("capreg watch: following from event \(position) (resume with --since \(position))") }
            if !once { Follow.stopOnSignal() }
            while true {
                let (events, next) = once ? try source.next(after: position, wait: false) : try Follow.next(source, after: position, name: "capreg watch")
                // Written at once, not buffered: a script reading the pipe hears each event as it comes.
                let text = events.map { line($0.0, matches: $0.1) + "\n" }.joined()
                if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
                let caughtUp = next == position || events.isEmpty && !source.pagesAhead
                position = next
                if once && caughtUp { return }
            }
        } catch let failure as WatchFailure {
            printError("capreg watch: \(failure.message)")
            throw ExitCode(failure.exitCode)
        }
    }

    private func line(_ e: WatchEvent, matches: Bool?) -> String {
        if json { return WatchJSON.event(e, matches: matches).encoded() }
        var out = "#\(e.id) \(RFC3339.format(e.at)) \(e.kind.rawValue) \(e.hostname)"
        if let matches { out += matches ? " (matches)" : " (no longer matches)" }
        if let c = e.change {
            if c.kernelBefore != c.kernelAfter { out += " kernel \(c.kernelBefore ?? "none") -> \(c.kernelAfter ?? "none")" }
            let evidence = c.changes.filter { $0.name.hasPrefix("evidence.") }.count
            for f in c.changes where !f.name.hasPrefix("evidence.") {
                out += "; \(f.name) \(f.before?.description ?? "absent") -> \(f.after?.description ?? "absent")"
            }
            if evidence > 0 { out += "; \(evidence) evidence text\(evidence == 1 ? "" : "s") changed" }
        }
        if e.kind == .stale { out += " (last seen \(RFC3339.format(e.lastSeen)))" }
        return out
    }
}

/// Following a stream for a long time (`capreg watch`, `capreg sync placement --follow`): a registry that is
/// restarting or failing over is waited for (1 s, doubling to 30 s), not given up on; SIGTERM and SIGINT end
/// the follower with 0 (it keeps no state: it resumes from an event id).
enum Follow {
    static func stopOnSignal() {
        ShutdownSignals.install([SIGTERM, SIGINT])
        let thread = Thread {
            _ = ShutdownSignals.wait()
            exit(0)
        }
        thread.start()
    }

    /// Runs `body` until it succeeds or fails for good: unreachable or failing services (69) are retried.
    static func retrying<T>(_ name: String, _ body: () throws -> T) throws -> T {
        var delay: UInt32 = 1
        while true {
            do {
                return try body()
            } catch let failure as WatchFailure where failure.exitCode == 69 {
                printError("\(name): \(failure.message); trying again in \(delay) s")
            }
            sleep(delay)
            delay = min(30, delay * 2)
        }
    }

    static func next(_ source: any WatchSource, after: Int64, name: String) throws -> (events: [(WatchEvent, Bool?)], next: Int64) {
        try retrying(name) { try source.next(after: after, wait: true) }
    }
}

struct WatchFailure: Error {
    var message: String
    var exitCode: Int32
}

extension WatchFailure {
    /// A registry's refusal: its error message; exit 77 for a token refused, 65 for the statuses in
    /// `question` (the question itself refused), 69 otherwise.
    init(refusal response: APIClient.Response, server: String, question: Set<Int>) {
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? "HTTP \(response.status)"
        self.init(message: "\(server): \(message)",
                  exitCode: response.status == 401 || response.status == 403 ? 77 : question.contains(response.status) ? 65 : 69)
    }
}

/// Where `capreg watch` reads events: the store, or a server.
protocol WatchSource {
    /// The position to follow from: `since`, or the newest event now.
    func start(since: Int64?) throws -> Int64
    /// The events after `after` the filter gives, and the position to go on from; waits for some when
    /// `wait` (a long poll, or a short sleep when there are none).
    func next(after: Int64, wait: Bool) throws -> (events: [(WatchEvent, Bool?)], next: Int64)
    /// Whether an empty answer may still leave events ahead (a page with none the filter kept).
    var pagesAhead: Bool { get }
}

struct LocalWatch: WatchSource {
    let registry: Registry
    let filter: QueryExpr?
    var pagesAhead: Bool { false }

    func start(since: Int64?) throws -> Int64 {
        let edge = try registry.watchEvents(after: Int64.max, limit: 0, withStates: false)
        let position = since ?? edge.head
        if position < edge.prunedThrough {
            throw WatchFailure(message: "--since \(position): events up to \(edge.prunedThrough) were pruned; resume from \(edge.prunedThrough) or later",
                               exitCode: 65)
        }
        return position
    }

    func next(after: Int64, wait: Bool) throws -> (events: [(WatchEvent, Bool?)], next: Int64) {
        let page = try registry.watchEvents(after: after, limit: 1000, withStates: filter != nil)
        if page.events.isEmpty && wait { usleep(500_000) }
        let kept = page.events.compactMap { e -> (WatchEvent, Bool?)? in
            let (given, matches) = WatchJSON.keeps(e, filter)
            return given ? (e, matches) : nil
        }
        return (kept, page.events.last?.id ?? after)
    }
}

/// Long polls of GET /v1/watch.
struct RemoteWatch: WatchSource {
    let client: APIClient
    let server: String
    let expression: String?
    var pagesAhead: Bool { true }

    init(server: String, token: String?, tls: TLSOptions, expression: String?) throws {
        do {
            var client = try APIClient(baseURL: server, token: token, tls: tls)
            // A long poll waits up to 25 s for its answer.
            client.timeoutSeconds = 40
            self.client = client
        } catch {
            throw WatchFailure(message: "\(error)", exitCode: 69)
        }
        self.server = server
        self.expression = expression
    }

    func start(since: Int64?) throws -> Int64 {
        if let since { return since }
        return try poll(nil, wait: 0).next
    }

    func next(after: Int64, wait: Bool) throws -> (events: [(WatchEvent, Bool?)], next: Int64) {
        try poll(after, wait: wait ? 25 : 0)
    }

    private func poll(_ since: Int64?, wait: Int) throws -> (events: [(WatchEvent, Bool?)], next: Int64) {
        var items = [("wait", String(wait)), ("limit", "1000")]
        if let since { items.append(("since", String(since))) }
        if let expression, !expression.isEmpty { items.append(("where", expression)) }
        let target = APIClient.target("/v1/watch", items)
        let response: APIClient.Response
        do {
            response = try client.get(target)
        } catch {
            throw WatchFailure(message: "\(server): \(error)", exitCode: 69)
        }
        guard response.status == 200 else { throw WatchFailure(refusal: response, server: server, question: [400, 410]) }
        do {
            let answer = try JSONDecoder().decode(PollAnswer.self, from: Data(response.body))
            return (try answer.events.map { (try $0.event(), $0.matches) }, answer.next)
        } catch {
            throw WatchFailure(message: "\(server): an answer that is not the change stream's: \(error)", exitCode: 69)
        }
    }

    /// GET /v1/watch's long-poll answer (WatchJSON), read back into the store's events.
    private struct PollAnswer: Decodable {
        var events: [Event]
        var next: Int64
    }

    private struct Event: Decodable {
        struct Change: Decodable {
            var name: String
            var before: JSONFactValue?
            var after: JSONFactValue?
        }

        var id: Int64
        var kind: String
        var hostname: String
        var at: String
        var revision: Int64?
        var last_seen: String
        var matches: Bool?
        var kernel_before: String?
        var kernel_after: String?
        var changes: [Change]?

        func event() throws -> WatchEvent {
            guard let kind = WatchEventKind(rawValue: kind) else { throw WatchFailure(message: "unknown event kind \(kind)", exitCode: 69) }
            let change = changes.map { list in
                HostChange(hostname: hostname, kernelBefore: kernel_before, kernelAfter: kernel_after,
                           changes: list.map { FactChange(name: $0.name, before: $0.before?.value, after: $0.after?.value) })
            }
            return WatchEvent(id: id, at: try RFC3339.parse(at), hostname: hostname, kind: kind, revision: revision, change: change,
                              lastSeen: try RFC3339.parse(last_seen))
        }
    }
}
