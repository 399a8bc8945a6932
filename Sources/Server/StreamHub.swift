import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Tells the server that a response's body goes on after the handler returns (a change stream, a long
/// poll). The server writes the head with `Connection: close` and no `Content-Length` (the body ends
/// when the connection does), hands the connection to its StreamHub, frees the worker, and calls
/// `start` with the stream on that worker before it leaves. The application then writes with
/// `StreamConnection.send` from any thread. A HEAD request gets the head only.
public final class StreamStart: Sendable, Equatable {
    let keepAlive: [UInt8]?
    let start: @Sendable (StreamConnection) -> Void

    /// `keepAlive`: bytes the hub writes when the stream has been quiet for `ServerConfig.streamKeepAlive`
    /// (an SSE comment), so that proxies keep it open and a vanished client is noticed; nil: none.
    public init(keepAlive: [UInt8]?, _ start: @escaping @Sendable (StreamConnection) -> Void) {
        self.keepAlive = keepAlive
        self.start = start
    }

    public static func == (a: StreamStart, b: StreamStart) -> Bool { a === b }
}

/// One stream's connection, held by the hub. Writes never block: what the socket does not take now
/// waits in a buffer of at most `ServerConfig.maxStreamBufferBytes`; a stream that would pass it, or that
/// leaves bytes unread for `writeTimeout`, is cut. A slow reader thus costs a bounded buffer and never
/// holds up anyone else.
public final class StreamConnection: @unchecked Sendable {
    public let identity: String?
    public let remote: String
    let fd: Int32
    let keepAlive: [UInt8]?
    private unowned let hub: StreamHub
    private let lock = NSLock()
    private var pending: [UInt8] = []
    /// Monotonic ms when `pending` became non-empty, or nil.
    private var pendingSince: Int64?
    private var lastWrite = MonotonicClock.millis()
    private var open = true
    /// Close once `pending` is written (a long poll's answer).
    private var finishing = false
    private var inputBytes = 0

    init(fd: Int32, identity: String?, remote: String, keepAlive: [UInt8]?, hub: StreamHub) {
        self.fd = fd
        self.identity = identity
        self.remote = remote
        self.keepAlive = keepAlive
        self.hub = hub
    }

    /// False once the stream is closed (the client left, was cut, or `finish`/`cut` was called).
    public var isOpen: Bool { lock.withLock { open && !finishing } }

    /// Writes `bytes` now as far as the socket takes them and keeps the rest; false when the stream is
    /// closed, or was cut now because its buffer would pass its bound.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        let result = lock.withLock { () -> Enqueued in
            guard open && !finishing else { return .closed }
            return enqueue(bytes)
        }
        switch result {
        case .sent: return true
        case .waiting: hub.wake(); return true
        case .overBound: hub.cut(self, slow: true); return false
        case .failed: hub.cut(self, slow: false); return false
        case .closed: return false
        }
    }

    /// Writes `bytes` (if any), then closes once they are out.
    public func finish(_ bytes: [UInt8] = []) {
        let result = lock.withLock { () -> Enqueued in
            guard open && !finishing else { return .closed }
            finishing = true
            return enqueue(bytes)
        }
        switch result {
        case .sent, .waiting: hub.wake()
        case .overBound: hub.cut(self, slow: true)
        case .failed: hub.cut(self, slow: false)
        case .closed: break
        }
    }

    private enum Enqueued {
        /// All written now.
        case sent
        /// Some wait for the hub to write them.
        case waiting
        /// The buffer would pass its bound: the reader is too slow.
        case overBound
        /// The socket failed (the client is gone).
        case failed
        case closed
    }

    /// Closes now, whatever is unwritten.
    public func cut() { hub.cut(self, slow: false) }

    /// Under the lock: writes what the socket takes now, keeps the rest.
    private func enqueue(_ bytes: [UInt8]) -> Enqueued {
        if pending.isEmpty && !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
            if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return .failed }
            let sent = max(0, n)
            if sent > 0 { lastWrite = MonotonicClock.millis() }
            if sent == bytes.count { return .sent }
            pending.append(contentsOf: bytes[sent...])
            pendingSince = MonotonicClock.millis()
        } else {
            pending.append(contentsOf: bytes)
        }
        if pending.count > hub.maxBuffer { return .overBound }
        return pending.isEmpty ? .sent : .waiting
    }

    // The hub's side, on its thread.

    /// Bytes waiting for the client to read them.
    public var pendingBytes: Int { lock.withLock { pending.count } }

    var wantsWrite: Bool { lock.withLock { !pending.isEmpty } }

    /// Writes what is pending. nil: keep going; otherwise the stream is done (true: cleanly, after a finish).
    func flush(now: Int64, writeTimeout: Int64) -> Bool? {
        lock.withLock {
            guard open else { return nil }
            if !pending.isEmpty {
                let n = pending.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
                if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return false }
                if n > 0 {
                    pending.removeFirst(n)
                    lastWrite = now
                    pendingSince = pending.isEmpty ? nil : now
                }
                if let since = pendingSince, now - since > writeTimeout { return false }
            }
            if pending.isEmpty && finishing { return true }
            return nil
        }
    }

    /// Writes the keep-alive bytes when the stream has been quiet for `interval` ms. False: the write failed
    /// (the caller cuts the stream).
    func keepAliveIfQuiet(now: Int64, interval: Int64) -> Bool {
        guard let keepAlive else { return true }
        return lock.withLock {
            guard open && !finishing && pending.isEmpty && now - lastWrite >= interval else { return true }
            let result = enqueue(keepAlive)
            return result == .sent || result == .waiting
        }
    }

    /// Input from the client, which a stream never expects: read and dropped. False: the client closed,
    /// or sent more than a stray request's worth.
    func drainInput() -> Bool {
        var scratch = [UInt8](repeating: 0, count: 4096)
        return lock.withLock {
            // Closed: its descriptor number may belong to another connection now; never touch it.
            guard open else { return true }
            while true {
                let n = recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
                if n == 0 { return false }
                if n < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR }
                inputBytes += n
                if inputBytes > 64 * 1024 { return false }
            }
        }
    }

    var quietFor: Int64 { lock.withLock { MonotonicClock.millis() - lastWrite } }

    /// Marks it closed, so that no more I/O starts on it (every read and write checks under the lock); true
    /// the first time. The descriptor stays open until `closeDescriptor`, so its number cannot be reused
    /// by another connection while a call on it may still be running.
    func markClosed() -> Bool {
        lock.withLock {
            defer { open = false }
            return open
        }
    }

    func closeDescriptor() {
        lock.withLock { _ = Glibc.close(fd) }
    }
}

/// Holds every stream's connection on one thread: poll() over their sockets for a client that leaves,
/// for room to write what waits, and for quiet streams due a keep-alive. Thousands of idle streams
/// cost a descriptor and a few hundred bytes each, no thread. Bounded: `maxStreams` in all and
/// `maxStreamsPerIdentity` for one identity (ServerConfig).
final class StreamHub: @unchecked Sendable {
    let maxBuffer: Int
    private let config: ServerConfig
    private let counters: ServerCounters
    private let lock = NSLock()
    private var streams: [Int32: StreamConnection] = [:]
    private var byIdentity: [String: Int] = [:]
    /// Places taken by `reserve` and not yet adopted or released.
    private var reserved = 0
    private var stopping = false
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let exited = DispatchSemaphore(value: 0)

    init(config: ServerConfig, counters: ServerCounters) {
        self.config = config
        self.counters = counters
        maxBuffer = config.maxStreamBufferBytes
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            Socket.setNonBlocking(fd)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let thread = Thread { [self] in loop() }
        thread.name = "http-streams"
        thread.start()
    }

    var count: Int { lock.withLock { streams.count } }

    enum Reservation { case granted, full, identityFull }

    /// Takes a place for a stream before its head is written.
    func reserve(identity: String?) -> Reservation {
        lock.withLock {
            guard !stopping, streams.count + reserved < config.maxStreams else { return .full }
            if let identity, let share = config.maxStreamsPerIdentity, byIdentity[identity, default: 0] >= share { return .identityFull }
            reserved += 1
            if let identity { byIdentity[identity, default: 0] += 1 }
            return .granted
        }
    }

    /// Gives back a place `reserve` took when the stream did not start (the head could not be written).
    func release(identity: String?) {
        lock.withLock {
            reserved -= 1
            if let identity { uncount(identity) }
        }
    }

    /// Takes over `fd` for a reserved stream.
    func adopt(fd: Int32, identity: String?, remote: String, keepAlive: [UInt8]?) -> StreamConnection {
        let stream = StreamConnection(fd: fd, identity: identity, remote: remote, keepAlive: keepAlive, hub: self)
        let refused = lock.withLock { () -> Bool in
            reserved -= 1
            if stopping {
                if let identity { uncount(identity) }
                return true
            }
            streams[fd] = stream
            return false
        }
        counters.update { $0.streamsStarted += 1 }
        if refused {
            _ = stream.markClosed()
            stream.closeDescriptor()
        }
        wake()
        return stream
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// Closes a stream (from any thread); `slow`: cut for not reading fast enough.
    func cut(_ stream: StreamConnection, slow: Bool) {
        guard stream.markClosed() else { return }
        lock.withLock {
            // Only this stream's entry: its number is not reused before the close below.
            guard streams[stream.fd] === stream else { return }
            streams[stream.fd] = nil
            if let identity = stream.identity { uncount(identity) }
        }
        if slow { counters.update { $0.streamsCutSlow += 1 } }
        stream.closeDescriptor()
    }

    private func uncount(_ identity: String) {
        byIdentity[identity, default: 1] -= 1
        if byIdentity[identity] == 0 { byIdentity[identity] = nil }
    }

    private func loop() {
        let keepAliveMillis = config.streamKeepAlive.millis
        let writeTimeout = config.writeTimeout.millis
        var scratch = [UInt8](repeating: 0, count: 256)
        while true {
            let (list, done) = lock.withLock { (Array(streams.values), stopping) }
            if done { break }
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            fds.reserveCapacity(list.count + 1)
            for s in list {
                fds.append(pollfd(fd: s.fd, events: Int16(POLLIN) | (s.wantsWrite ? Int16(POLLOUT) : 0), revents: 0))
            }
            // Wake for the next keep-alive due, at most a second away (write timeouts are checked then too).
            _ = poll(&fds, nfds_t(fds.count), 1000)
            if fds[0].revents != 0 { while read(wakeRead, &scratch, scratch.count) > 0 {} }
            let now = MonotonicClock.millis()
            for (i, s) in list.enumerated() {
                let revents = fds[i + 1].revents
                if revents & Int16(POLLIN) != 0 || revents & Int16(POLLHUP | POLLERR) != 0 {
                    if !s.drainInput() { cut(s, slow: false); continue }
                }
                switch s.flush(now: now, writeTimeout: writeTimeout) {
                case true?: cut(s, slow: false)
                case false?: cut(s, slow: true)
                case nil: if !s.keepAliveIfQuiet(now: now, interval: keepAliveMillis) { cut(s, slow: false) }
                }
            }
        }
        let left = lock.withLock { Array(streams.values) }
        for s in left { cut(s, slow: false) }
        exited.signal()
    }

    /// Closes every stream and ends the thread.
    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        wake()
        exited.wait()
        close(wakeRead)
        close(wakeWrite)
    }
}
