import Foundation
import Report
import Server
import Store

/// The registry's HTTP API: routes a request, checks its token, runs the endpoint and answers JSON.
/// One instance serves every worker thread; its state (store, tokens, metrics) is thread-safe.
public final class API: HTTPHandler, Sendable {
    /// The registry without a budget: writes and the database size. Reads for an answer go through
    /// `answer`'s store, limited by `queryBudget`.
    let registry: Registry
    let authorizer: Authorizer
    public let metrics: Metrics
    /// Reports per POST: one store batch, so a request is one transaction (all or nothing).
    let maxReportsPerRequest: Int
    /// Hosts silent for longer than this are stale (`capreg serve --stale-after`): the dashboard lists them
    /// and GET /v1/hosts leaves them out unless the query states its own `fresh_within`.
    let staleAfter: DurationText
    /// How far ahead of the registry's clock a report's `collected_at` may be (`capreg serve --max-clock-skew`).
    let maxClockSkew: DurationText
    /// Store reads for a query running at once (`serve --max-concurrent-reads`); see ReadGate.
    let readGate: ReadGate
    /// CPU time each store read for a request may take (`serve --query-budget`); see QueryBudget.
    let queryBudget: Duration
    /// Internal errors, one line each (the CLI sends them to swift-log at error level).
    let log: @Sendable (String) -> Void
    /// The change stream's reader and sweeper (GET /v1/watch).
    let watchFeed: WatchFeed
    /// How long a read with `min_revision` waits for the registry to reach it before answering 503.
    let minRevisionWait: Duration

    /// `log` receives internal errors (500s), one line each; the CLI sends them to swift-log.
    public init(store: Registry, tokens: TokenTable, staleAfter: DurationText = DurationText(seconds: 7200),
                maxClockSkew: DurationText = DurationText(seconds: Int64(ClockBound.defaultMaxSkew)),
                maxConcurrentReads: Int = API.defaultConcurrentReads, queryBudget: Duration = API.defaultQueryBudget,
                trustedProxy: TrustedProxy = TrustedProxy(), minRevisionWait: Duration = API.defaultMinRevisionWait,
                watchRetention: DurationText = API.defaultWatchRetention,
                watchTick: Duration = .milliseconds(100),
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.minRevisionWait = minRevisionWait
        self.registry = store
        self.queryBudget = queryBudget
        self.staleAfter = staleAfter
        self.maxClockSkew = maxClockSkew
        self.readGate = ReadGate(limit: maxConcurrentReads)
        self.authorizer = Authorizer(tokens: tokens, credentials: store, proxy: trustedProxy)
        self.metrics = Metrics()
        self.maxReportsPerRequest = max(1, store.batchSize)
        self.log = log
        self.watchFeed = WatchFeed(registry: store, settings: WatchFeed.Settings(staleAfter: staleAfter.timeInterval,
                                                                                 retention: watchRetention.timeInterval, tick: watchTick),
                                   log: log)
    }

    /// How long the change stream keeps its events (`serve --watch-retention`): a watcher may resume from any
    /// point that recent.
    public static let defaultWatchRetention = DurationText(seconds: 7 * 86400)

    /// Starts what runs beside the requests: the change stream's reader, which also writes stale and fresh
    /// events as hosts pass the freshness bound (`capreg serve` calls it; a watch request starts it too).
    public func startBackground() { watchFeed.start() }

    /// Stops it and waits for its thread, before the store is closed.
    public func stopBackground() { watchFeed.stop() }

    /// Before the server reads a body: unknown path (404), wrong method (405), token missing or wrong
    /// (401), role too weak (403) are answered on the head alone, and the connection is closed.
    public func admit(_ head: HTTPRequest) -> Admission {
        do throws(APIError) {
            let (route, _, caller) = try gatekeep(head)
            // Anyone may post an enrollment, so its body is held to a few KiB before it is read.
            if route == .enroll && head.contentLength > Self.maxEnrollBodyBytes {
                metrics.countEnrollment("bad_request")
                throw APIError(.contentTooLarge, "content_too_large",
                               "an enrollment body is at most \(Self.maxEnrollBodyBytes) bytes; this one announces \(head.contentLength)")
            }
            return .admit(identity: caller.identity)
        } catch {
            return .refuse(refusal(error, head))
        }
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        do {
            return try route(request)
        } catch let interrupted as QueryInterrupted {
            metrics.countInterrupted(interrupted.reason)
            return interruptedResponse(interrupted, request)
        } catch let error as APIError {
            return refusal(error, request)
        } catch let error as any SQLBackendError where error.unavailable {
            // The database is gone for a moment (a PostgreSQL failover, a restart): a 503 the client retries,
            // here or on another replica, not a 500; the log says why.
            log("store unavailable: \(request.method) \(request.path): \(error.summary)")
            return refusal(APIError(.serviceUnavailable, "store_unavailable",
                                    "the registry's database cannot be reached now; retry (or ask another replica)",
                                    headers: [("Retry-After", "1")]), request)
        } catch {
            metrics.countError("internal_error")
            // One line an operator can match to the answer: an id, the request's path and, for a query, its
            // expression's first 200 bytes; the error without its SQL (StoreErrorText).
            let id = String(UInt64.random(in: 0..<(1 << 48)), radix: 16)
            let expression = request.queryValue("where").map { " where=\(String(decoding: Array($0.utf8.prefix(200)), as: UTF8.self).debugDescription)" } ?? ""
            log("error \(id): \(request.method) \(request.path)\(expression): \(StoreErrorText.summary(error))")
            return HTTPResponse.error(.internalServerError, code: "internal_error", message: "the registry could not answer (error \(id)); see its log")
        }
    }

    /// The answer to a refused request, counted; a browser on a dashboard page gets the same refusal as
    /// a page (its status, headers and message).
    private func refusal(_ error: APIError, _ request: HTTPRequest) -> HTTPResponse {
        metrics.countError(error.code)
        if let (route, _) = Route.match(request.pathSegments), route.isDashboard { return dashboardRefusal(error) }
        return error.response
    }

    /// Route, method and token: everything decided on the head alone, the same in `admit` and `handle`.
    private func gatekeep(_ request: HTTPRequest) throws(APIError) -> (route: Route, host: String?, caller: Caller) {
        guard let (route, host) = Route.match(request.pathSegments) else {
            throw APIError.notFound("no such endpoint: \(request.path.prefix(200))")
        }
        let method = request.method == "HEAD" ? "GET" : request.method
        guard method == route.method else {
            throw APIError(.methodNotAllowed, "method_not_allowed", "\(route.rawValue) answers \(route.allow)",
                           headers: [("Allow", route.allow)])
        }
        return (route, host, try authorizer.caller(of: request, needs: route.role))
    }

    private func route(_ request: HTTPRequest) throws -> HTTPResponse {
        let (route, host, caller) = try gatekeep(request)
        let minRevision = try minRevision(request, route)
        // Only answers that read the store for a query wait for a read slot; refusals above never do.
        guard route.readsStore else { return try answer(route, host: host, caller, request, minRevision: nil) }
        return try untilRevision(request) {
            try readGate.run(for: caller.identity) { try answer(route, host: host, caller, request, minRevision: minRevision) }
        }
    }

    private func answer(_ route: Route, host: String?, _ caller: Caller, _ request: HTTPRequest, minRevision: Int64?) throws -> HTTPResponse {
        // Every read for this answer runs under the budget, and stops when the client hangs up.
        let store = registry.limited(by: QueryBudget(cpu: queryBudget, clientGone: { request.clientGone() }), minRevision: minRevision)
        switch route {
        case .reports: return try postReports(request, caller)
        case .enroll: return try enroll(request)
        case .hosts: return try listHosts(request, store)
        case .host: return try hostDetail(request, hostname: host!, store)
        case .hostHistory: return try hostHistory(request, hostname: host!, store)
        case .changes: return try changes(request, store)
        case .watch: return try watch(request, store)
        case .kernels: return try kernels(request, store)
        case .capabilities: return try capabilities(request, store)
        case .profiles: return try profiles(request)
        case .draExport: return try draExport(request, store)
        case .historyExport: return try historyExport(request, store)
        case .kernelUpgrades: return try kernelUpgrades(request, store)
        case .kernelUpgradePrediction: return try kernelUpgradePrediction(request, store)
        case .fleetDiff: return try fleetDiff(request, store)
        case .factProvenance: return try factProvenance(request, hostname: host!, store)
        case .stats: return try stats(request, store)
        case .healthz: return try healthz(request)
        case .readyz: return try readyz(request, store)
        case .metrics: return try metricsText(request)
        case .dashboard: return try dashboardOverview(request, store)
        case .uiQuery: return try dashboardQuery(request, store)
        case .uiHost: return try dashboardHost(request, store)
        case .uiChanges: return try dashboardChanges(request, store)
        case .uiAudits: return try dashboardAudits(request, store)
        }
    }

    /// Five CPU seconds per read: the heaviest legitimate reads measured on a 100,000-host registry (a
    /// 1,000-host page of a 200-entry kernel list as of a time with totals; the dashboard's overview) took
    /// 0.8–1.6 s on a loaded 2-core machine (docs/figures.md), and CPU time grows with the history a
    /// registry keeps: about three times the heaviest, so no legitimate question meets it, while a runaway
    /// one holds a read slot for seconds, not minutes.
    public static let defaultQueryBudget: Duration = .seconds(5)

    /// `2s` as --query-budget reads it; a budget below a second (tests) in milliseconds.
    static func budgetText(_ budget: Duration) -> String {
        let (seconds, attoseconds) = budget.components
        return attoseconds == 0 ? DurationText(seconds: seconds).description : "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000)ms"
    }

    /// Past the budget: 400, not 503, because the budget is CPU time of the reading thread, which other
    /// requests do not inflate: the same question would be refused again, so a client must not retry it
    /// but ask a narrower one (or the operator raise --query-budget). A gone client gets nothing to read:
    /// the connection is closed, the status (499, as nginx logs it) only shows in the server's records.
    func interruptedResponse(_ interrupted: QueryInterrupted, _ request: HTTPRequest) -> HTTPResponse {
        switch interrupted.reason {
        case .clientGone:
            var response = HTTPResponse.error(HTTPStatus(499, "Client Closed Request"), code: "client_gone", message: "the client closed its connection")
            response.headers.set("Connection", "close")
            return response
        case .budget:
            let budget = API.budgetText(interrupted.budget)
            let error = APIError(.badRequest, "query_budget_exceeded",
                                 "the question needed more than this registry's query budget of \(budget) of CPU time (capreg serve --query-budget) "
                                     + "and was stopped; ask a narrower one: a smaller limit, fewer list entries, without totals or explain",
                                 details: [("budget", .string(budget))])
            metrics.countError(error.code)
            if let (route, _) = Route.match(request.pathSegments), route.isDashboard { return dashboardRefusal(error) }
            return error.response
        }
    }

    /// Two store reads per core: one computing while the other's thread is switched in or out.
    public static var defaultConcurrentReads: Int { ReadGate.defaultLimit }

    /// For `ServerConfig.onResponse`: every response, the server's own errors included.
    public func record(_ response: ResponseMetric) {
        metrics.record(route: Route.label(forRawPath: response.path), status: response.status,
                       seconds: Double(response.handlerDuration.components.seconds)
                           + Double(response.handlerDuration.components.attoseconds) / 1e18)
    }
}

extension HTTPResponse {
    static func json(_ value: JSONValue, status: HTTPStatus = .ok) -> HTTPResponse { .json(status, value.bytes) }
}
