import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 over plain Glibc sockets.
///
/// Design: one accept thread and a pool of worker threads, one connection per worker (at most
/// `maxConnections`). A worker waits for its socket with poll() and a deadline, so a slow or idle
/// client only ever holds its own worker, never the accept loop or another connection. When every
/// slot is busy the accept thread cuts the oldest idle anonymous connection (ConnectionSlots) or, if
/// there is none, answers 503 itself, without blocking, and closes. Each request's head goes to the
/// handler's `admit` before its body is read, and its body must fit the server-wide budget
/// (BodyBudget), so no client makes the server buffer bodies it will refuse. Handlers run on
/// the workers and may block (the store is synchronous); blocking I/O on a thread per connection keeps
/// latency low and the code short, which an event loop would not at this size.
///
/// Shutdown: a pipe becomes readable, the accept thread closes the listener, connections idle between
/// requests close, in-flight requests finish (answered with `Connection: close`), and after
/// `drainTimeout` whatever is left is cut.
public final class HTTPServer: @unchecked Sendable {
    public struct ShutdownReport: Sendable, Equatable {
        /// Every connection ended on its own within the drain timeout.
        public let drained: Bool
        /// Connections still open at the drain deadline and cut.
        public let cutConnections: Int
        public let duration: Duration
    }

    public enum StartError: Error, CustomStringConvertible {
        case alreadyStarted
        case listen(String)

        public var description: String {
            switch self {
            case .alreadyStarted: "the server was already started"
            case .listen(let why): "cannot listen: \(why)"
            }
        }
    }

    public let config: ServerConfig
    private let handler: any HTTPHandler
    private let counters = ServerCounters()
    private let stopping = StopFlag()
    private let lock = NSLock()
    private let acceptExited = NSCondition()
    private var acceptRunning = false
    private var started = false
    private var finalReport: ShutdownReport?
    private var listener: Socket.Listener?
    private var pool: WorkerPool?
    private var slots: ConnectionSlots?
    private var budget: BodyBudget?
    private var streams: StreamHub?
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1

    public init(config: ServerConfig = ServerConfig(), handler: some HTTPHandler) {
        self.config = config
        self.handler = handler
    }

    /// The bound port (the kernel's choice when `config.port` is 0); 0 before `start()`.
    public var port: UInt16 { lock.withLock { listener?.port ?? 0 } }
    /// The bound address as a numeric literal; empty before `start()`.
    public var address: String { lock.withLock { listener?.address ?? "" } }

    public func stats() -> ServerStats {
        var stats = counters.snapshot()
        let (pool, slots, budget) = lock.withLock { (self.pool, self.slots, self.budget) }
        stats.connectionsOpen = pool?.activeCount ?? 0
        stats.connectionsAnonymous = slots?.anonymousCount ?? 0
        stats.bufferedBodyBytes = budget?.inUse ?? 0
        stats.streamsOpen = lock.withLock { self.streams }?.count ?? 0
        return stats
    }

    /// Binds, listens and starts accepting on a thread of its own; returns at once.
    public func start() throws {
        try lock.withLock {
            guard !started else { throw StartError.alreadyStarted }
            // Writes use MSG_NOSIGNAL already; this guards any other path (and handlers) too.
            signal(SIGPIPE, SIG_IGN)
            let bound: Socket.Listener
            do {
                bound = try Socket.listen(host: config.host, port: config.port, backlog: config.listenBacklog)
            } catch {
                throw StartError.listen("\(error)")
            }
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else {
                close(bound.fd)
                throw StartError.listen("pipe: \(String(describing: strerror(errno)))")
            }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            wakeRead = fds[0]
            wakeWrite = fds[1]
            listener = bound
            started = true
            let slots = ConnectionSlots(capacity: config.maxConnections, reservedAnonymous: config.reservedAnonymousConnections,
                                        perIdentity: config.maxConnectionsPerIdentity, counters: counters)
            let budget = BodyBudget(capacity: max(config.maxBufferedBodyBytes, config.limits.maxBodyBytes))
            self.slots = slots
            self.budget = budget
            let streams = StreamHub(config: config, counters: counters)
            self.streams = streams
            let context = ConnectionContext(config: config, handler: handler, counters: counters, slots: slots,
                                            budget: budget, wakeFD: wakeRead, stopping: stopping, streams: streams)
            pool = WorkerPool(capacity: slots.descriptorLimit) { job in
                let becameStream = Connection(fd: job.fd, remote: job.remote, context: context).run()
                if !becameStream { slots.close(job.fd) }
            }
        }
        acceptExited.withLock { acceptRunning = true }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "http-accept"
        thread.start()
    }

    private func acceptLoop() {
        let (listenFD, wake, pool, slots) = lock.withLock { (listener?.fd ?? -1, wakeRead, self.pool, self.slots) }
        defer {
            close(listenFD)
            acceptExited.withLock {
                acceptRunning = false
                acceptExited.broadcast()
            }
        }
        guard let pool, let slots else { return }
        while true {
            let wait = Socket.waitReadable(listenFD, wake: wake, timeoutMillis: Int64(Int32.max))
            if wait == .woken || stopping.isSet { return }
            guard wait == .readable else { continue }
            // Take everything pending: one poll wake-up can stand for many connections.
            while let (fd, remote) = Socket.accept(listenFD) {
                counters.update { $0.connectionsAccepted += 1 }
                guard slots.take(fd) else {
                    reject(fd)
                    close(fd)
                    continue
                }
                if !pool.submit((fd, remote)) {
                    reject(fd)
                    slots.close(fd)
                }
            }
            if errno == EMFILE || errno == ENFILE {
                usleep(10_000)  // out of descriptors: back off instead of spinning on poll
            }
        }
    }

    /// Every slot is busy: answer 503 without waiting (the socket buffer of a new connection is empty,
    /// so it fits); the caller closes.
    private func reject(_ fd: Int32) {
        let bytes = ResponseSerializer.serverError(.serviceUnavailable, "too many connections; retry later",
                                                   retryAfterSeconds: 1, date: HTTPDate.now())
        // Counted before the client can see the answer, so stats never lag what a client observed.
        counters.update {
            $0.connectionsRejected += 1
            $0.responsesByClass[5] += 1
        }
        config.onResponse?(ResponseMetric(method: "", path: "", status: 503, handlerDuration: .zero,
                                          requestBodyBytes: 0, responseBytes: bytes.count, fromHandler: false))
        Socket.sendNow(fd, bytes)
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        Socket.drainNow(fd)
    }

    /// Stops accepting (new connections are refused by the kernel from here on), closes connections
    /// idle between requests, lets in-flight requests finish within `drainTimeout` (default: the
    /// configured one), cuts what is left, and returns. Safe to call more than once and from any
    /// thread; later calls return the first call's report once it is done.
    @discardableResult
    public func shutdown(drainTimeout: Duration? = nil) -> ShutdownReport {
        let began = MonotonicClock.millis()
        let (first, pool, slots, wakeWrite) = lock.withLock { () -> (Bool, WorkerPool?, ConnectionSlots?, Int32) in
            let first = started && !stopping.isSet
            if first { stopping.set() }
            return (first, self.pool, self.slots, self.wakeWrite)
        }
        guard first, let pool, let slots else { return waitForFinalReport() }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        acceptExited.withLock {
            while acceptRunning { acceptExited.wait() }
        }
        pool.stop()
        // Streams never end on their own: they close now (their clients reconnect, elsewhere if need be).
        lock.withLock { self.streams }?.stop()
        let deadline = MonotonicClock.millis() + (drainTimeout ?? config.drainTimeout).millis
        let drained = pool.waitUntilIdle(deadline: deadline)
        var cut = 0
        if !drained {
            cut = slots.cutAll()
            // Workers blocked in socket calls return at once; one stuck in a handler cannot be helped.
            _ = pool.waitUntilIdle(deadline: MonotonicClock.millis() + 1000)
        }
        let report = ShutdownReport(drained: drained, cutConnections: cut,
                                    duration: .milliseconds(MonotonicClock.millis() - began))
        lock.withLock {
            finalReport = report
            if pool.activeCount == 0 {
                // Nobody polls the wake pipe any more; a worker still in a handler would, so keep it then.
                close(wakeRead)
                close(wakeWrite)
            }
        }
        return report
    }

    private func waitForFinalReport() -> ShutdownReport {
        while true {
            if let report = lock.withLock({ started ? finalReport : ShutdownReport(drained: true, cutConnections: 0, duration: .zero) }) {
                return report
            }
            usleep(10_000)
        }
    }

    /// For `capreg serve`: starts the server if needed, blocks until one of `signals` arrives (SIGTERM
    /// and SIGINT by default), then shuts down gracefully and returns, so the caller can checkpoint
    /// the database and exit 0.
    @discardableResult
    public func runUntilSignal(_ signals: [Int32] = [SIGTERM, SIGINT]) throws -> ShutdownReport {
        ShutdownSignals.install(signals)
        if !lock.withLock({ started }) { try start() }
        _ = ShutdownSignals.wait()
        return shutdown()
    }
}
