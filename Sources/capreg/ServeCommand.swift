import API
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Server
import Store

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the registry's HTTP API (docs/api.md).",
        discussion: """
        Tokens: --tokens FILE or the CAPREG_TOKENS environment variable, one `ROLE TOKEN` per line (or \
        comma-separated), `#` comments; roles: collector (POST /v1/reports), reader (every GET), admin \
        (both). Tokens are at least 16 characters; only their SHA-256 is kept. File tokens are the bootstrap: \
        unbound, a collector's may write any host. Credentials issued with `capreg token` (kept in the \
        registry, a collector's bound to its host) are checked beside them on every request, so a \
        revocation counts from the next one. Without tokens or credentials auth is off, which is allowed \
        only on a loopback address (127.0.0.1, ::1) unless --insecure.

        SIGTERM or SIGINT: stop accepting, finish the requests in flight, checkpoint the WAL, exit 0.
        """
    )

    @Option(help: ArgumentHelp("Address and port to listen on; port 0 picks a free one (the log says which).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    /// Not an option: people reach for it, so it is parsed only to be refused with the one flag that sets
    /// the port (one way to set the address; a second flag would have to be reconciled with --listen).
    @Option(help: .hidden)
    var port: String?

    @Option(help: ArgumentHelp("Bearer tokens with roles, one `ROLE TOKEN` per line.", valueName: "file"))
    var tokens: String?

    @Flag(help: "Allow listening on a non-loopback address without tokens.")
    var insecure = false

    @Option(name: .customLong("trusted-proxy"), help: ArgumentHelp("""
        Address of the TLS proxy in front (nginx; repeatable). From it alone X-Real-IP names the client, and         X-Client-Verify: SUCCESS with X-Client-Subject makes the verified certificate's CN a collector bound to         that host. Turns auth on.
        """, valueName: "address"))
    var trustedProxies: [String] = []

    @Flag(help: "Log every request (method, path, status, handler time).")
    var verbose = false

    @Option(help: ArgumentHelp("""
        Hosts not seen for longer are stale (90s, 30m, 2h, 7d): the dashboard lists them, and GET /v1/hosts leaves \
        them out of its answers unless a query states fresh_within.
        """, valueName: "duration"))
    var staleAfter = ServeCommand.defaultStaleAfter

    @Option(help: ArgumentHelp("""
        Delete heartbeats (unchanged reports kept as their times) older than this (30d, 12h), checked every \
        hour. Facts, reports and last-seen stay; only freshness as of earlier times loses them. Default: keep all.
        """, valueName: "duration"))
    var keepHeartbeats: String?

    @OptionGroup var clock: ClockSkewOption

    @Option(help: ArgumentHelp("""
        How long the change stream (GET /v1/watch) keeps its events (7d, 12h): a watcher may resume from any point that \
        recent. At most a million are kept whatever the age.
        """, valueName: "duration"))
    var watchRetention = API.defaultWatchRetention.description

    @Option(help: "Change-stream watchers (server-sent event streams and waiting long polls) held at once, beside --max-connections; each costs a descriptor, no thread. The next gets 503.")
    var maxWatchers = ServerConfig(host: "", port: 0).maxStreams

    @Option(help: ArgumentHelp("Watchers one token (without tokens: one client address) may hold; its next gets 429 (default: a quarter of --max-watchers).", valueName: "n"))
    var maxWatchersPerIdentity: Int?

    @Option(help: "Connections served at once. When all are taken, a new one cuts the oldest idle connection without a token yet, or gets 503.")
    var maxConnections = 256

    @Option(help: ArgumentHelp("Connection slots tokens may not take, kept for connections without a token yet (every new one) and probes (default: an eighth of --max-connections).", valueName: "n"))
    var reservedAnonymousConnections: Int?

    @Option(help: ArgumentHelp("Connections one token (without tokens: one client address) may hold; its next request gets 429 (default: a quarter of --max-connections).", valueName: "n"))
    var maxConnectionsPerIdentity: Int?

    @Option(help: "Request body bytes held at once over all connections (default 32 MiB); a body that does not fit gets 503 before it is read. At least --max-body-bytes.")
    var maxBufferedBodyBytes = ServerConfig(host: "", port: 0).maxBufferedBodyBytes

    @Option(help: "Queries read from the store at once; more wait their turn, a freed slot going to the token holding the fewest, and one token holds at most all but one (default: two per core). Probes, /metrics and refusals never wait.")
    var maxConcurrentReads = API.defaultConcurrentReads

    @Option(help: ArgumentHelp("CPU time one store read for a request may take (5s, 1m); past it the read stops and the request gets 400 query_budget_exceeded. A read whose client hung up stops as well.", valueName: "duration"))
    var queryBudget = "5s"

    @Option(help: "Seconds a read given min_revision waits for the registry to reach that revision before 503 revision_not_reached (0: at once; at most 60).")
    var minRevisionWait = 2

    @Option(help: "Largest request body in bytes (413 past it).")
    var maxBodyBytes = HTTPLimits().maxBodyBytes

    @Option(help: "Largest request line plus header fields in bytes (431/414 past it).")
    var maxHeadBytes = HTTPLimits().maxHeadBytes

    @Option(help: "Most header fields per request (431 past it).")
    var maxHeaderCount = HTTPLimits().maxHeaderCount

    @Option(help: "Seconds from a request's first byte to the end of its head (408 past it).")
    var headerTimeout = 10

    @Option(help: "Seconds a keep-alive connection may idle between requests.")
    var idleTimeout = 30

    @Option(help: "Seconds shutdown waits for requests in flight.")
    var drainTimeout = 10

    @OptionGroup var store: StoreOptions

    /// The default freshness bound, shared with `capreg query --db` so both paths leave out the same hosts.
    static let defaultStaleAfter = "2h"

    func validate() throws {
        if let port {
            throw ValidationError("there is no --port: give --listen HOST:PORT, e.g. --listen 127.0.0.1:\(UInt16(port) ?? 8080)")
        }
        do { _ = try DurationText.parse(staleAfter) } catch { throw ValidationError("--stale-after \(error)") }
        if let keepHeartbeats {
            do { _ = try DurationText.parse(keepHeartbeats) } catch { throw ValidationError("--keep-heartbeats \(error)") }
        }
        do { _ = try DurationText.parse(queryBudget) } catch { throw ValidationError("--query-budget \(error)") }
        do { _ = try DurationText.parse(watchRetention) } catch { throw ValidationError("--watch-retention \(error)") }
        if maxWatchers < 0 { throw ValidationError("--max-watchers must be at least 0") }
        if maxWatchersPerIdentity.map({ $0 < 1 }) ?? false { throw ValidationError("--max-watchers-per-identity must be at least 1") }
        if !(0...60).contains(minRevisionWait) { throw ValidationError("--min-revision-wait must be within 0…60 seconds") }
        if ServeCommand.split(listen) == nil { throw ValidationError("--listen \(listen): expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080") }
        for (name, value) in [("--max-connections", maxConnections), ("--max-concurrent-reads", maxConcurrentReads), ("--max-body-bytes", maxBodyBytes), ("--max-head-bytes", maxHeadBytes),
                              ("--max-header-count", maxHeaderCount), ("--header-timeout", headerTimeout), ("--idle-timeout", idleTimeout)]
        where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        for address in trustedProxies where !TrustedProxy.isAddress(address) {
            throw ValidationError("--trusted-proxy \(address): expected an IP address (127.0.0.1, ::1), the proxy's source address as the server sees it")
        }
        if reservedAnonymousConnections.map({ $0 < 1 || $0 >= maxConnections }) ?? false {
            throw ValidationError("--reserved-anonymous-connections must be at least 1 and below --max-connections (\(maxConnections))")
        }
        if maxConnectionsPerIdentity.map({ $0 < 1 }) ?? false {
            throw ValidationError("--max-connections-per-identity must be at least 1")
        }
        if maxBufferedBodyBytes < maxBodyBytes {
            throw ValidationError("--max-buffered-body-bytes (\(maxBufferedBodyBytes)) must be at least --max-body-bytes (\(maxBodyBytes)): a body of the largest size must fit")
        }
    }

    /// Bounds what the allocator keeps after requests end; glibc's tunables through mallopt, looked up
    /// because Swift's Glibc module leaves out <malloc.h>. The environment (`MALLOC_MMAP_THRESHOLD_`,
    /// `MALLOC_ARENA_MAX`) wins over both.
    /// - Request bodies (up to --max-body-bytes each) get mappings of their own, given back when freed. By
    ///   default glibc raises its mmap threshold after the first large free, and later bodies come from
    ///   per-thread arenas that keep freed memory: with 150 clients sending 4 MiB bodies at once, peak RSS
    ///   was 110–160 MB instead of about 95 MB (bench/admission/run.sh).
    /// - One arena per core instead of glibc's eight: each arena keeps the freed pieces of the answers
    ///   built in it, so with many worker threads the same work held more memory. The attack suite's
    ///   lists phase (1,000-host pages, six at once) peaked at 160 MB with glibc's default and 120 MB with
    ///   two arenas on two cores, at the same latency (bench/attack, docs/figures.md).
    static func tuneAllocator() {
        guard let symbol = dlsym(nil, "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let environment = ProcessInfo.processInfo.environment
        if environment["MALLOC_MMAP_THRESHOLD_"] == nil {
            _ = mallopt(-3, 256 * 1024)  // M_MMAP_THRESHOLD
        }
        if environment["MALLOC_ARENA_MAX"] == nil {
            _ = mallopt(-8, Int32(max(1, ProcessInfo.processInfo.activeProcessorCount)))  // M_ARENA_MAX
        }
    }

    /// The default shares of --max-connections: at least one connection, and at least one left for the rest.
    static func share(of maxConnections: Int, divisor: Int) -> Int {
        max(1, min(maxConnections / divisor, maxConnections - 1))
    }

    /// `host:port`, `[v6]:port`. nil when malformed.
    static func split(_ listen: String) -> (host: String, port: UInt16)? {
        guard let colon = listen.lastIndex(of: ":"), let port = UInt16(listen[listen.index(after: colon)...]) else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() throws {
        ServeCommand.tuneAllocator()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "capreg.serve")
        let (host, port) = ServeCommand.split(listen)!
        let table: TokenTable
        do {
            table = try loadTokens()
        } catch {
            logger.error("\(error)")
            throw ExitCode(64)
        }
        let registry = try store.open()
        // Credentials issued with `capreg token` turn auth on as a --tokens file does.
        let credentials = try registry.hasCredentials()
        if let refusal = ListenPolicy.refusal(host: host, hasTokens: !table.isEmpty || credentials || !trustedProxies.isEmpty, insecure: insecure) {
            logger.error("\(refusal)")
            throw ExitCode(64)
        }
        let api = API(store: registry, tokens: table, staleAfter: try DurationText.parse(staleAfter),
                      maxClockSkew: clock.duration, maxConcurrentReads: maxConcurrentReads,
                      queryBudget: .seconds(try DurationText.parse(queryBudget).seconds),
                      trustedProxy: TrustedProxy(addresses: trustedProxies), minRevisionWait: .seconds(minRevisionWait),
                      watchRetention: try DurationText.parse(watchRetention)) { message in
            logger.error("\(message)")
        }
        let verbose = verbose
        let config = ServerConfig(
            host: host, port: port,
            limits: HTTPLimits(maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes),
            maxConnections: maxConnections,
            reservedAnonymousConnections: reservedAnonymousConnections ?? ServeCommand.share(of: maxConnections, divisor: 8),
            maxConnectionsPerIdentity: maxConnectionsPerIdentity ?? ServeCommand.share(of: maxConnections, divisor: 4),
            maxBufferedBodyBytes: maxBufferedBodyBytes, headerReadTimeout: .seconds(headerTimeout), idleTimeout: .seconds(idleTimeout),
            drainTimeout: .seconds(drainTimeout),
            maxStreams: maxWatchers, maxStreamsPerIdentity: maxWatchersPerIdentity ?? ServeCommand.share(of: maxWatchers, divisor: 4),
            onResponse: { metric in
                api.record(metric)
                if verbose || metric.status >= 500 {
                    let ms = Double(metric.handlerDuration.components.attoseconds) / 1e15 + Double(metric.handlerDuration.components.seconds) * 1000
                    logger.log(level: metric.status >= 500 ? .error : .info,
                               "\(metric.method) \(metric.path.prefix(200)) \(metric.status) \(String(format: "%.2f", ms)) ms")
                }
            })
        // Every connection and watcher holds a descriptor: take all the system allows (the soft limit is often 1024).
        ServeCommand.raiseDescriptorLimit(to: maxConnections * 2 + maxWatchers + 256, logger: logger)
        let server = HTTPServer(config: config, handler: api)
        api.metrics.attach(serverStats: { server.stats() })
        // Installed before start: a SIGTERM that arrives while starting is not lost.
        ShutdownSignals.install()
        do {
            try server.start()
        } catch {
            logger.error("cannot listen on \(listen): \(error)")
            throw ExitCode(69)
        }
        let auth = table.isEmpty && !credentials ? "auth off (no tokens)"
            : "\(table.count) token\(table.count == 1 ? "" : "s") from --tokens" + (credentials ? ", credentials of the registry" : "")
        // Reports decoded by older decoders answer with older facts (before 0.2 the plain `nesting` etc.
        // meant the registers): say so at start rather than let a scheduler find out.
        if let backlog = try? registry.redecodeBacklog(), backlog > 0 {
            logger.warning("\(backlog) stored reports were decoded by older decoders (their facts may lack today's names, e.g. the hw./usable split): run `capreg redecode --db \(store.db)`")
        }
        logger.info("capreg \(CapregVersion.text) listening on \(server.address.contains(":") ? "[\(server.address)]" : server.address):\(server.port) (database \(store.db), \(auth))")
        api.startBackground()
        if let keepHeartbeats {
            HeartbeatPruner.start(registry, keep: try DurationText.parse(keepHeartbeats).seconds, logger: logger)
        }
        let signal = ShutdownSignals.wait()
        logger.info("signal \(signal): stopping (draining requests in flight)")
        // First the change stream's reader: long polls waiting get their answer before the server closes streams.
        api.stopBackground()
        let report = server.shutdown()
        do {
            try registry.close()
        } catch {
            logger.error("checkpoint failed: \(error)")
            throw ExitCode(1)
        }
        logger.info("stopped: \(report.drained ? "drained" : "cut \(report.cutConnections) connections") in \(report.duration), \(registry.dialect == .sqlite ? "WAL checkpointed" : "database connections closed")")
    }

    /// Raises the soft descriptor limit toward `wanted` (at most the hard limit), and warns when that falls short.
    static func raiseDescriptorLimit(to wanted: Int, logger: Logger) {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return }
        let target = min(rlim_t(wanted), limit.rlim_max)
        if limit.rlim_cur < target {
            limit.rlim_cur = target
            _ = setrlimit(resource, &limit)
        }
        if target < rlim_t(wanted) {
            logger.warning("the descriptor limit is \(limit.rlim_max) (ulimit -n); --max-connections and --max-watchers want \(wanted)")
        }
    }

    /// --tokens FILE, else CAPREG_TOKENS, else none.
    func loadTokens() throws -> TokenTable {
        if let tokens {
            guard let text = try? String(contentsOfFile: tokens, encoding: .utf8) else { throw TokenError(description: "cannot read --tokens \(tokens)") }
            let table = try TokenTable.parse(text, source: tokens)
            if table.isEmpty { throw TokenError(description: "\(tokens) holds no tokens") }
            return table
        }
        if let env = ProcessInfo.processInfo.environment["CAPREG_TOKENS"], !env.isEmpty {
            return try TokenTable.parse(env, source: "CAPREG_TOKENS")
        }
        return TokenTable()
    }
}
