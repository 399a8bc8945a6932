/// Incremental HTTP/1.1 request parser over bytes: no sockets, no clocks, so it can be fuzzed and
/// tested byte by byte. Feed bytes with `append`, then call `next()` until it answers `.needMore`.
/// Each request is given twice: `.head` once its head is complete (body still empty, so the server can
/// refuse it before reading the body), then `.request` with the body. Bytes past one request stay
/// buffered for the next (pipelining).
///
/// Only CRLF ends a line: a bare CR or LF anywhere in the head is a 400, found as soon as the byte
/// arrives, and so is every other malformation, so a bad client is answered without waiting for more.
/// After an error the parser stays failed (the stream's framing is lost).
public struct HTTPRequestParser: Sendable {
    /// Where the parser is within the current request, for choosing which timeout applies.
    public enum Phase: Sendable, Equatable {
        /// No byte of a next request yet.
        case idle
        /// Request line and header fields arriving.
        case head
        /// Head complete, waiting for the rest of the body.
        case body
    }

    public let limits: HTTPLimits

    private var buffer: [UInt8] = []
    /// First byte of the current request (leading empty lines included, so they count toward the limit).
    private var start = 0
    /// Next byte the head scanner looks at.
    private var scan = 0
    /// First byte of the line being scanned.
    private var lineStart = 0
    private var head: RequestHead?
    private var pendingBody: (head: RequestHead, framing: RequestHead.Framing, bodyStart: Int)?
    private var failure: HTTPParseError?
    private var continueWanted = false

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    public var phase: Phase {
        if pendingBody != nil { return .body }
        return buffer.count > start ? .head : .idle
    }

    /// Bytes received and not yet part of a delivered request.
    public var bufferedByteCount: Int { buffer.count - start }

    /// True once per request whose head asked `Expect: 100-continue` and whose body has not all
    /// arrived, from the first `.needMore` after its `.head`: the server then sends `100 Continue`
    /// (once it has admitted the head) before reading on.
    public mutating func takeContinueRequest() -> Bool {
        defer { continueWanted = false }
        return continueWanted
    }

    public mutating func next() -> HTTPParseResult {
        if let failure { return .error(failure) }
        if let pending = pendingBody {
            guard buffer.count - pending.bodyStart >= pending.framing.contentLength else { return .needMore }
            return deliver(pending.head, pending.framing, bodyStart: pending.bodyStart)
        }
        while scan < buffer.count {
            let byte = buffer[scan]
            if byte == Ascii.cr {
                guard scan + 1 < buffer.count else { break }  // the LF has not arrived yet
                guard buffer[scan + 1] == Ascii.lf else { return fail(.badRequest, "CR not followed by LF") }
                let lineEnd = scan
                scan += 2
                if scan - start > limits.maxHeadBytes { return failTooLarge() }
                if let result = endOfLine(lineStart..<lineEnd) { return result }
                lineStart = scan
                continue
            }
            if byte == Ascii.lf { return fail(.badRequest, "LF not preceded by CR") }
            scan += 1
            if scan - start > limits.maxHeadBytes { return failTooLarge() }
        }
        return .needMore
    }

    /// nil: keep scanning. Otherwise what `next()` answers.
    private mutating func endOfLine(_ range: Range<Int>) -> HTTPParseResult? {
        do {
            guard var current = head else {
                // RFC 9112 §2.2: empty lines before the request line are ignored.
                if range.isEmpty { return nil }
                head = try RequestHead.parseRequestLine(buffer[range])
                return nil
            }
            if range.isEmpty { return try endOfHead(current) }
            head = nil  // keep `current` uniquely referenced while it grows
            try current.addField(buffer[range])
            if current.headers.count > limits.maxHeaderCount {
                return fail(.headerFieldsTooLarge, "more than \(limits.maxHeaderCount) header fields")
            }
            head = current
            return nil
        } catch {
            return fail(error)
        }
    }

    /// The head is complete: hand it out before any body, even one that arrived with it, so every
    /// request passes the server's admission the same way. The next `next()` goes on with the body.
    private mutating func endOfHead(_ current: RequestHead) throws(HTTPParseError) -> HTTPParseResult {
        let framing = try current.framing(limits: limits)
        head = nil
        pendingBody = (current, framing, scan)
        continueWanted = framing.expectsContinue && buffer.count - scan < framing.contentLength
        return .head(Self.request(current, framing, body: []))
    }

    private static func request(_ head: RequestHead, _ framing: RequestHead.Framing, body: [UInt8]) -> HTTPRequest {
        HTTPRequest(
            method: head.method, target: head.target, path: head.parsedTarget.path,
            pathSegments: head.parsedTarget.pathSegments, rawQuery: head.parsedTarget.rawQuery,
            query: head.parsedTarget.query, version: head.version, headers: head.headers,
            body: body, contentLength: framing.contentLength, keepAlive: framing.keepAlive)
    }

    /// Makes room for the pending body at once (the server calls it once the head is admitted), so a
    /// large body does not grow the buffer by doubling, which holds the old and the new copy at once.
    public mutating func reserveBodyCapacity() {
        guard let pending = pendingBody else { return }
        buffer.reserveCapacity(pending.bodyStart + pending.framing.contentLength)
    }

    private mutating func deliver(_ head: RequestHead, _ framing: RequestHead.Framing, bodyStart: Int) -> HTTPParseResult {
        let end = bodyStart + framing.contentLength
        let body: [UInt8]
        if end == buffer.count && framing.contentLength > Self.handOverBodyBytes {
            // A large body that ends the buffer: hand the buffer over (its head moved out) rather than
            // copy it, so the server never holds a large body twice.
            buffer.removeSubrange(0..<bodyStart)
            body = buffer
            buffer = []
        } else {
            body = Array(buffer[bodyStart..<end])
        }
        let request = Self.request(head, framing, body: body)
        pendingBody = nil
        continueWanted = false
        start = buffer.isEmpty ? 0 : end
        scan = start
        lineStart = start
        compact()
        return .request(request)
    }

    /// Bodies larger than this are handed over instead of copied; smaller ones are copied, so the
    /// buffer keeps its capacity for the next request.
    static let handOverBodyBytes = 64 * 1024

    /// Drops delivered bytes so a long keep-alive connection does not grow its buffer forever, and
    /// gives back a large body's memory once it is delivered.
    private mutating func compact() {
        if start == buffer.count {
            if buffer.capacity > 64 * 1024 { buffer = [] } else { buffer.removeAll(keepingCapacity: true) }
        } else if start >= 4096 {
            buffer.removeSubrange(0..<start)
        } else {
            return
        }
        scan -= start
        lineStart -= start
        start = 0
    }

    private mutating func failTooLarge() -> HTTPParseResult {
        head == nil
            ? fail(.uriTooLong, "request line longer than \(limits.maxHeadBytes) bytes")
            : fail(.headerFieldsTooLarge, "request head longer than \(limits.maxHeadBytes) bytes")
    }

    private mutating func fail(_ status: HTTPStatus, _ message: String) -> HTTPParseResult {
        fail(HTTPParseError(status, message))
    }

    private mutating func fail(_ error: HTTPParseError) -> HTTPParseResult {
        failure = error
        pendingBody = nil
        head = nil
        return .error(error)
    }
}
