#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over the Glibc socket calls the server needs. Sockets are non-blocking; every wait is
/// a poll() with a deadline, so no call can hang a thread past its timeout.
enum Socket {
    enum Wait: Equatable { case readable, woken, timedOut, failed }

    struct Listener {
        let fd: Int32
        let address: String
        let port: UInt16
    }

    struct SocketError: Error, CustomStringConvertible {
        let call: String
        let code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// Binds and listens on `host:port` (IPv4 or IPv6 literal, or a name getaddrinfo resolves).
    static func listen(host: String, port: UInt16, backlog: Int32) throws -> Listener {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw SocketError(call: "getaddrinfo(\(host)): \(String(cString: gai_strerror(rc)))", code: 0)
        }
        defer { freeaddrinfo(list) }
        var lastError = SocketError(call: "bind", code: EADDRNOTAVAIL)
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { lastError = SocketError(call: "socket", code: errno); continue }
            setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
                lastError = SocketError(call: "bind \(host):\(port)", code: errno)
                close(fd)
                continue
            }
            guard Glibc.listen(fd, backlog) == 0 else {
                lastError = SocketError(call: "listen", code: errno)
                close(fd)
                continue
            }
            setNonBlocking(fd)
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            let (address, boundPort) = describe(storage)
            return Listener(fd: fd, address: address, port: boundPort)
        }
        throw lastError
    }

    /// One pending connection, made non-blocking, close-on-exec and TCP_NODELAY; nil when none is pending.
    static func accept(_ listener: Int32) -> (fd: Int32, remote: String)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.accept(listener, $0, &length)
            }
        }
        guard fd >= 0 else { return nil }
        // Glibc's module map hides accept4, so set the flags after (no fork happens in between here).
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        setNonBlocking(fd)
        // Responses go out in one write; without NODELAY, Nagle would hold the next one back.
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let (address, port) = describe(storage)
        let remote = address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        return (fd, remote)
    }

    /// Waits until `fd` is readable, `wake` is readable (shutdown), or `timeoutMillis` pass.
    static func waitReadable(_ fd: Int32, wake: Int32?, timeoutMillis: Int64) -> Wait {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if let wake { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
        let timeout = Int32(clamping: max(0, timeoutMillis))
        while true {
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failed }
            if n == 0 { return .timedOut }
            if fds[0].revents != 0 { return .readable }  // data, EOF or error: read() tells which
            return .woken
        }
    }

    /// Reads what is there into `parser`. >0 bytes read, 0 on EOF, -1 on error, nil when nothing was
    /// ready after all (EAGAIN).
    static func read(_ fd: Int32, into parser: inout HTTPRequestParser, scratch: UnsafeMutableRawBufferPointer) -> Int? {
        while true {
            let n = recv(fd, scratch.baseAddress, scratch.count, 0)
            if n > 0 {
                parser.append(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                return n
            }
            if n == 0 { return 0 }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            return -1
        }
    }

    /// Sends all of `bytes`: one send() when the socket buffer has room (the normal case), more only
    /// after a partial write. MSG_NOSIGNAL: a vanished peer is an error here, never a SIGPIPE.
    /// `sendCalls` counts the send() calls made.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8], deadline: Int64, sendCalls: inout Int) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                sendCalls += 1
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n > 0 { offset += n; continue }
                if n < 0 && errno == EINTR { continue }
                guard n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) else { return false }
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let remaining = deadline - MonotonicClock.millis()
                guard remaining > 0, poll(&pfd, 1, Int32(clamping: remaining)) > 0 else { return false }
            }
            return true
        }
    }

    /// Best-effort single send for paths that must not wait (the accept thread's 503).
    static func sendNow(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
    }

    /// Discards whatever is already queued without waiting.
    static func drainNow(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            guard recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT)) > 0 else { return }
        }
    }

    private static func cText(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Numeric address and port of an IPv4 or IPv6 socket address.
    static func describe(_ storage: sockaddr_storage) -> (String, UInt16) {
        var storage = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic -> (String, UInt16) in
                switch Int32(generic.pointee.sa_family) {
                case AF_INET:
                    return generic.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                        var addr = v4.pointee.sin_addr
                        inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                        return (cText(text), UInt16(bigEndian: v4.pointee.sin_port))
                    }
                case AF_INET6:
                    return generic.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                        var addr = v6.pointee.sin6_addr
                        inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                        return (cText(text), UInt16(bigEndian: v6.pointee.sin6_port))
                    }
                default:
                    return ("unknown", 0)
                }
            }
        }
    }
}

enum MonotonicClock {
    static func millis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func nanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so a tiny positive timeout never becomes "don't wait".
    var millis: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }
}
