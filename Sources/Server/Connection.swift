#if canImport(Glibc)
import Glibc
#endif

/// What every connection shares: configuration, handler, counters, slots, the body budget and the
/// shutdown signal.
final class ConnectionContext: Sendable {
    let config: ServerConfig
    let handler: any HTTPHandler
    let counters: ServerCounters
    let slots: ConnectionSlots
    let budget: BodyBudget
    /// Read end of the shutdown pipe: readable once `shutdown()` starts, for the rest of the run.
    let wakeFD: Int32
    let stopping: StopFlag
    let streams: StreamHub

    init(config: ServerConfig, handler: any HTTPHandler, counters: ServerCounters, slots: ConnectionSlots,
         budget: BodyBudget, wakeFD: Int32, stopping: StopFlag, streams: StreamHub) {
        self.streams = streams
        self.config = config
        self.handler = handler
        self.counters = counters
        self.slots = slots
        self.budget = budget
        self.wakeFD = wakeFD
        self.stopping = stopping
    }
}

/// One connection's life on its worker thread: read with deadlines, parse, admit each head
/// (`HTTPHandler.admit`, the identity's connection share, the body budget) before reading its body,
/// call the handler, write, repeat while keep-alive holds. Requests on one connection are served in
/// order (pipelining).
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

    /// True when the connection became a stream: the hub owns its descriptor now.
    func run() -> Bool {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { scratch.deallocate() }
        var parser = HTTPRequestParser(limits: config.limits)
        var served = 0
        var waitingSince = MonotonicClock.millis()
        var requestStarted: Int64?
        var bodyStarted: Int64?
        // The request between its admitted head and its answer: who asks, and the body bytes it took.
        var admitted: (identity: String?, reservedBytes: Int)?
        defer { if let admitted { context.budget.release(admitted.reservedBytes) } }

        while true {
            switch parser.next() {
            case .head(var head):
                head.remoteAddress = remote
                head.connectionFD = fd
                guard let admission = admit(head) else { return lingeringClose(then: false) }
                admitted = admission
                parser.reserveBodyCapacity()

            case .request(var request):
                request.remoteAddress = remote
                request.connectionFD = fd
                request.identity = admitted?.identity
                served += 1
                let outcome = respond(to: request)
                if let done = admitted { context.budget.release(done.reservedBytes) }
                admitted = nil
                if outcome == .stream { return true }
                context.slots.setBusy(fd, false)
                guard outcome == .keepOpen else { return lingeringClose(then: false) }
                waitingSince = MonotonicClock.millis()
                // Pipelined bytes already here start the next request's clock now.
                requestStarted = parser.phase == .idle ? nil : waitingSince
                bodyStarted = nil

            case .error(let error):
                context.counters.update { $0.parseErrors += 1 }
                sendServerError(error.status, error.message)
                return lingeringClose(then: false)

            case .needMore:
                if parser.takeContinueRequest() {
                    var calls = 0
                    guard Socket.sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8),
                                         deadline: MonotonicClock.millis() + config.writeTimeout.millis,
                                         sendCalls: &calls) else { return false }
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
                    guard n > 0 else { return false }  // EOF or error: nobody left to answer
                    if requestStarted == nil { requestStarted = MonotonicClock.millis() }
                case .timedOut where phase == .idle:
                    if !stopping { context.counters.update { $0.idleCloses += 1 } }
                    return lingeringClose(then: false)
                case .timedOut:
                    context.counters.update { $0.readTimeouts += 1 }
                    let what = phase == .head ? "request head" : "request body"
                    let limit = phase == .head ? config.headerReadTimeout : config.bodyReadTimeout
                    sendServerError(.requestTimeout, "\(what) not received within \(limit.millis) ms")
                    return lingeringClose(then: false)
                case .woken:
                    return lingeringClose(then: false)
                case .failed:
                    return false
                }
            }
        }
    }

    /// Decides on a complete head before any of its body is read: the handler's `admit`, then the
    /// identity's connection share, then the body's bytes from the server-wide budget. Nil: refused, the
    /// answer is written, and the caller closes (the unread body leaves the framing unknown).
    private func admit(_ head: HTTPRequest) -> (identity: String?, reservedBytes: Int)? {
        // Being served from here on: a full server does not cut this connection to make room.
        context.slots.setBusy(fd, true)
        let identity: String?
        switch context.handler.admit(head) {
        case .refuse(let response):
            context.counters.update { $0.admissionRefusals += 1 }
            refuse(head, response, fromHandler: true)
            return nil
        case .admit(let named):
            identity = named
        }
        if let identity {
            switch context.slots.identify(fd, as: identity) {
            case .accepted:
                break
            case .identityFull:
                context.counters.update { $0.identityShareRejections += 1 }
                let share = context.slots.perIdentity ?? 0
                refuse(head, .serverError(.tooManyRequests, "this client already holds \(share) connections, its share; retry later or reuse one",
                                          retryAfterSeconds: 1), fromHandler: false)
                return nil
            case .noSlot:
                context.counters.update { $0.connectionsRejected += 1 }
                refuse(head, .serverError(.serviceUnavailable, "too many connections; retry later", retryAfterSeconds: 1), fromHandler: false)
                return nil
            }
        }
        guard context.budget.reserve(head.contentLength) else {
            context.counters.update { $0.bodyBudgetRejections += 1 }
            refuse(head, .serverError(.serviceUnavailable, "request bodies being received fill the server's \(context.budget.capacity)-byte buffer; retry later",
                                      retryAfterSeconds: 1), fromHandler: false)
            return nil
        }
        return (identity, head.contentLength)
    }

    /// Answers a request refused at its head, always closing. The closing connection serves nobody
    /// any more, so it may be cut to make room.
    private func refuse(_ head: HTTPRequest, _ response: HTTPResponse, fromHandler: Bool) {
        _ = send(response, to: head, keepAlive: false, handlerNanos: nil, fromHandler: fromHandler)
        context.slots.setBusy(fd, false)
    }

    private enum Outcome { case keepOpen, close, stream }

    /// Calls the handler and writes its response.
    private func respond(to request: HTTPRequest) -> Outcome {
        let started = MonotonicClock.nanos()
        // The handler's time includes any wait inside it (the API's read gate): the time the request waited for its answer.
        let response = context.handler.handle(request)
        let handlerNanos = MonotonicClock.nanos() - started
        if let stream = response.stream, request.method != "HEAD" {
            return startStream(stream, response, request, handlerNanos: handlerNanos)
        }
        let keepAlive = request.keepAlive && !response.closeConnection && !context.stopping.isSet && response.stream == nil
        return send(response, to: request, keepAlive: keepAlive, handlerNanos: handlerNanos, fromHandler: true) && keepAlive ? .keepOpen : .close
    }

    /// Writes a stream's head and hands the connection to the hub, or refuses when its places are taken.
    private func startStream(_ stream: StreamStart, _ response: HTTPResponse, _ request: HTTPRequest, handlerNanos: Int64) -> Outcome {
        let identity = request.identity
        switch context.streams.reserve(identity: identity) {
        case .full:
            context.counters.update { $0.streamsRefused += 1 }
            _ = send(.serverError(.serviceUnavailable, "the server holds all the \(config.maxStreams) streams it may; retry later", retryAfterSeconds: 1),
                     to: request, keepAlive: false, handlerNanos: handlerNanos, fromHandler: false)
            return .close
        case .identityFull:
            context.counters.update { $0.streamsRefused += 1 }
            _ = send(.serverError(.tooManyRequests, "this client already holds \(config.maxStreamsPerIdentity ?? 0) streams, its share; close one",
                                  retryAfterSeconds: 1), to: request, keepAlive: false, handlerNanos: handlerNanos, fromHandler: false)
            return .close
        case .granted:
            break
        }
        guard send(response, to: request, keepAlive: false, handlerNanos: handlerNanos, fromHandler: true), !context.stopping.isSet else {
            context.streams.release(identity: identity)
            return .close
        }
        context.slots.detach(fd)
        let connection = context.streams.adopt(fd: fd, identity: identity, remote: remote, keepAlive: stream.keepAlive)
        stream.start(connection)
        return .stream
    }

    /// Writes `response` to `request` and reports it to `onResponse`. True when it was written.
    /// `handlerNanos` is nil for answers given without calling `handle` (refusals at the head).
    private func send(_ response: HTTPResponse, to request: HTTPRequest, keepAlive: Bool, handlerNanos: Int64?,
                      fromHandler: Bool) -> Bool {
        let bytes = ResponseSerializer.serialize(response, keepAlive: keepAlive, omitBody: request.method == "HEAD",
                                                 date: HTTPDate.now())
        // Recorded before the client can read the answer, so metrics never lag what a client has seen
        // (a client that asks /metrics right after a 404 finds it counted).
        config.onResponse?(ResponseMetric(
            method: request.method, path: request.path, status: response.status.code,
            handlerDuration: .nanoseconds(handlerNanos ?? 0), requestBodyBytes: request.body.count,
            responseBytes: bytes.count, fromHandler: fromHandler))
        return write(bytes, status: response.status, handlerNanos: handlerNanos)
    }

    private func sendServerError(_ status: HTTPStatus, _ message: String) {
        let bytes = ResponseSerializer.serverError(status, message, date: HTTPDate.now())
        config.onResponse?(ResponseMetric(
            method: "", path: "", status: status.code, handlerDuration: .zero, requestBodyBytes: 0,
            responseBytes: bytes.count, fromHandler: false))
        _ = write(bytes, status: status, handlerNanos: nil)
    }

    private func write(_ bytes: [UInt8], status: HTTPStatus, handlerNanos: Int64?) -> Bool {
        var calls = 0
        let ok = Socket.sendAll(fd, bytes, deadline: MonotonicClock.millis() + config.writeTimeout.millis, sendCalls: &calls)
        context.counters.responseWritten(status: status, sendCalls: calls, handlerNanos: handlerNanos)
        return ok
    }

    /// Half-closes, then reads and discards until the client closes too, `lingerTimeout` passes or
    /// `maxLingerBytes` were discarded. Closing with unread input would send a reset, and a reset can
    /// destroy the response we just wrote before the client reads it (RFC 9112 §9.6). The byte bound
    /// is for a client that goes on sending a body refused on its head (401 on a 4 MiB POST): a client
    /// that reads its answer stops within a round trip, one that does not gets no more of our reading.
    /// The pool closes the descriptor afterwards.
    private func lingeringClose(then result: Bool) -> Bool {
        lingeringClose()
        return result
    }

    private func lingeringClose() {
        _ = shutdown(fd, Int32(SHUT_WR))
        let deadline = MonotonicClock.millis() + config.lingerTimeout.millis
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        var discarded = 0
        while discarded < Self.maxLingerBytes {
            let remaining = deadline - MonotonicClock.millis()
            guard remaining > 0, Socket.waitReadable(fd, wake: nil, timeoutMillis: remaining) == .readable else { return }
            let n = recv(fd, &scratch, scratch.count, 0)
            if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) { return }
            discarded += max(0, n)
        }
    }

    /// Bytes a closing connection reads and throws away at most (see `lingeringClose`).
    static let maxLingerBytes = 256 * 1024
}
