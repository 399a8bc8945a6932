#if canImport(Glibc)
import Glibc
#endif

/// What every connection shares: configuration, handler, counters and the shutdown signal.
final class ConnectionContext: Sendable {
    let config: ServerConfig
    let handler: any HTTPHandler
    let counters: ServerCounters
    /// Read end of the shutdown pipe: readable once `shutdown()` starts, for the rest of the run.
    let wakeFD: Int32
    let stopping: StopFlag

    init(config: ServerConfig, handler: any HTTPHandler, counters: ServerCounters, wakeFD: Int32, stopping: StopFlag) {
        self.config = config
        self.handler = handler
        self.counters = counters
        self.wakeFD = wakeFD
        self.stopping = stopping
    }
}

/// One connection's life on its worker thread: read with deadlines, parse, call the handler, write,
/// repeat while keep-alive holds. Requests on one connection are served in order (pipelining).
///
/// Timeouts: a new connection has `headerReadTimeout` to send its first byte; between requests a
/// keep-alive connection has `idleTimeout`. From a request's first byte its whole head must arrive
/// within `headerReadTimeout` (a deadline, not per read: dribbling one byte at a time does not extend
/// it), and its body within `bodyReadTimeout` after that. Idle connections close silently; late heads
/// and bodies get 408.
struct Connection {
    let fd: Int32
    let remote: String
    let context: ConnectionContext

    private var config: ServerConfig { context.config }

    func run() {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { scratch.deallocate() }
        var parser = HTTPRequestParser(limits: config.limits)
        var served = 0
        var waitingSince = MonotonicClock.millis()
        var requestStarted: Int64?
        var bodyStarted: Int64?

        while true {
            switch parser.next() {
            case .request(var request):
                request.remoteAddress = remote
                request.connectionFD = fd
                served += 1
                guard respond(to: request) else { return lingeringClose() }
                waitingSince = MonotonicClock.millis()
                // Pipelined bytes already here start the next request's clock now.
                requestStarted = parser.phase == .idle ? nil : waitingSince
                bodyStarted = nil

            case .error(let error):
                context.counters.update { $0.parseErrors += 1 }
                sendServerError(error.status, error.message)
                return lingeringClose()

            case .needMore:
                if parser.takeContinueRequest() {
                    var calls = 0
                    guard Socket.sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8),
                                         deadline: MonotonicClock.millis() + config.writeTimeout.millis,
                                         sendCalls: &calls) else { return }
                }
                let now = MonotonicClock.millis()
                let phase = parser.phase
                let deadline: Int64
                switch phase {
                case .idle:
                    deadline = waitingSince + (served == 0 ? config.headerReadTimeout : config.idleTimeout).millis
                case .head:
                    deadline = (requestStarted ?? now) + config.headerReadTimeout.millis
                case .body:
                    if bodyStarted == nil { bodyStarted = now }
                    deadline = (bodyStarted ?? now) + config.bodyReadTimeout.millis
                }
                // Between requests, shutdown may interrupt the wait; within a request it may not.
                let stopping = phase == .idle && context.stopping.isSet
                let wait = Socket.waitReadable(fd, wake: phase == .idle && !stopping ? context.wakeFD : nil,
                                               timeoutMillis: stopping ? 0 : deadline - now)
                switch wait {
                case .readable:
                    guard let n = Socket.read(fd, into: &parser, scratch: scratch) else { continue }
                    guard n > 0 else { return }  // EOF or error: nobody left to answer
                    if requestStarted == nil { requestStarted = MonotonicClock.millis() }
                case .timedOut where phase == .idle:
                    if !stopping { context.counters.update { $0.idleCloses += 1 } }
                    return lingeringClose()
                case .timedOut:
                    context.counters.update { $0.readTimeouts += 1 }
                    let what = phase == .head ? "request head" : "request body"
                    let limit = phase == .head ? config.headerReadTimeout : config.bodyReadTimeout
                    sendServerError(.requestTimeout, "\(what) not received within \(limit.millis) ms")
                    return lingeringClose()
                case .woken:
                    return lingeringClose()
                case .failed:
                    return
                }
            }
        }
    }

    /// Calls the handler and writes its response. True when the connection stays open.
    private func respond(to request: HTTPRequest) -> Bool {
        let started = MonotonicClock.nanos()
        // The handler's time includes any wait inside it (the API's read gate): the time the request waited for its answer.
        let response = context.handler.handle(request)
        let handlerNanos = MonotonicClock.nanos() - started
        let keepAlive = request.keepAlive && !response.closeConnection && !context.stopping.isSet
        let bytes = ResponseSerializer.serialize(response, keepAlive: keepAlive, omitBody: request.method == "HEAD",
                                                 date: HTTPDate.now())
        let written = write(bytes, status: response.status, handlerNanos: handlerNanos)
        config.onResponse?(ResponseMetric(
            method: request.method, path: request.path, status: response.status.code,
            handlerDuration: .nanoseconds(handlerNanos), requestBodyBytes: request.body.count,
            responseBytes: bytes.count, fromHandler: true))
        return written && keepAlive
    }

    private func sendServerError(_ status: HTTPStatus, _ message: String) {
        let bytes = ResponseSerializer.serverError(status, message, date: HTTPDate.now())
        _ = write(bytes, status: status, handlerNanos: nil)
        config.onResponse?(ResponseMetric(
            method: "", path: "", status: status.code, handlerDuration: .zero, requestBodyBytes: 0,
            responseBytes: bytes.count, fromHandler: false))
    }

    private func write(_ bytes: [UInt8], status: HTTPStatus, handlerNanos: Int64?) -> Bool {
        var calls = 0
        let ok = Socket.sendAll(fd, bytes, deadline: MonotonicClock.millis() + config.writeTimeout.millis, sendCalls: &calls)
        context.counters.responseWritten(status: status, sendCalls: calls, handlerNanos: handlerNanos)
        return ok
    }

    /// Half-closes, then reads and discards until the client closes too or `lingerTimeout` passes.
    /// Closing with unread input would send a reset, and a reset can destroy the response we just
    /// wrote before the client reads it (RFC 9112 §9.6). The pool closes the descriptor afterwards.
    private func lingeringClose() {
        _ = shutdown(fd, Int32(SHUT_WR))
        let deadline = MonotonicClock.millis() + config.lingerTimeout.millis
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            let remaining = deadline - MonotonicClock.millis()
            guard remaining > 0, Socket.waitReadable(fd, wake: nil, timeoutMillis: remaining) == .readable else { return }
            let n = recv(fd, &scratch, scratch.count, 0)
            if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) { return }
        }
    }
}
