import Testing
@testable import Server

/// The request parser on bytes alone: framing, strictness, limits, and that splitting the input
/// anywhere never changes the outcome.
@Suite struct ParserTests {
    /// Every result the parser gives for `input` fed at once, up to the first needMore or error.
    static func parseAll(_ input: String, limits: HTTPLimits = HTTPLimits()) -> [HTTPParseResult] {
        parseAll(Array(input.utf8), limits: limits, chunks: [input.utf8.count])
    }

    /// Same, fed in chunks of the given sizes (the remainder last).
    static func parseAll(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits(), chunks: [Int]) -> [HTTPParseResult] {
        var parser = HTTPRequestParser(limits: limits)
        var results: [HTTPParseResult] = []
        var offset = 0
        var sizes = chunks
        while offset < bytes.count || sizes.isEmpty == false {
            let size = sizes.isEmpty ? bytes.count - offset : min(sizes.removeFirst(), bytes.count - offset)
            parser.append(bytes[offset..<(offset + size)])
            offset += size
            loop: while true {
                let r = parser.next()
                switch r {
                case .needMore: break loop
                case .head: continue  // each request follows as .request; heads have tests of their own
                case .request: results.append(r)
                case .error: results.append(r); return results
                }
            }
            if offset >= bytes.count { break }
        }
        return results
    }

    static func request(_ input: String) throws -> HTTPRequest {
        let results = parseAll(input)
        guard results.count == 1, case .request(let r) = results[0] else {
            Issue.record("expected one request, got \(results)")
            throw ParseFailed()
        }
        return r
    }

    static func status(_ input: String, limits: HTTPLimits = HTTPLimits()) -> Int? {
        for r in parseAll(input, limits: limits) {
            if case .error(let e) = r { return e.status.code }
        }
        return nil
    }

    struct ParseFailed: Error {}

    @Test func simpleGet() throws {
        let r = try Self.request("GET /v1/hosts/a%2Fb?where=pasid_bits+%3E%3D+20&limit=5&flag HTTP/1.1\r\nHost: x\r\nX-Trace:  abc \r\n\r\n")
        #expect(r.method == "GET")
        #expect(r.target == "/v1/hosts/a%2Fb?where=pasid_bits+%3E%3D+20&limit=5&flag")
        #expect(r.path == "/v1/hosts/a%2Fb")
        #expect(r.pathSegments == ["v1", "hosts", "a/b"])
        #expect(r.rawQuery == "where=pasid_bits+%3E%3D+20&limit=5&flag")
        #expect(r.queryValue("where") == "pasid_bits >= 20")
        #expect(r.queryValue("limit") == "5")
        #expect(r.queryValue("flag") == "")
        #expect(r.headers["x-trace"] == "abc")
        #expect(r.headers["HOST"] == "x")
        #expect(r.version == .http11)
        #expect(r.keepAlive)
        #expect(r.body.isEmpty)
    }

    @Test func rootPathHasNoSegments() throws {
        #expect(try Self.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n").pathSegments == [])
        #expect(try Self.request("GET /a/ HTTP/1.1\r\nHost: x\r\n\r\n").pathSegments == ["a", ""])
    }

    @Test func postBodyLengthIsContentLength() throws {
        let r = try Self.request("POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world")
        #expect(r.body == Array("hello world".utf8))
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        let two = "GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /thr"
        let results = Self.parseAll(two)
        #expect(results.count == 2)
        if case .request(let a) = results[0], case .request(let b) = results[1] {
            #expect(a.path == "/one")
            #expect(b.path == "/two")
            #expect(b.body == Array("abc".utf8))
        } else {
            Issue.record("expected two requests, got \(results)")
        }
    }

    @Test func anySplitGivesTheSameResults() {
        let inputs = [
            "GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
            "\r\nGET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nab",
        ]
        for input in inputs {
            let bytes = Array(input.utf8)
            let whole = Self.parseAll(bytes, chunks: [bytes.count])
            #expect(Self.parseAll(bytes, chunks: Array(repeating: 1, count: bytes.count)) == whole, "byte by byte: \(input.debugDescription)")
            for split in 1..<bytes.count {
                #expect(Self.parseAll(bytes, chunks: [split]) == whole, "split at \(split): \(input.debugDescription)")
            }
        }
    }

    @Test func leadingEmptyLinesAreIgnored() throws {
        #expect(try Self.request("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").path == "/")
    }

    // MARK: smuggling

    @Test(arguments: [
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc",
    ])
    func contentLengthWithTransferEncodingIs400(_ input: String) {
        #expect(Self.status(input) == 400)
    }

    @Test(arguments: ["3\r\nContent-Length: 3", "3\r\nContent-Length: 4", "3\r\ncontent-length: 03"])
    func duplicateContentLengthIs400(_ values: String) {
        #expect(Self.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(values)\r\n\r\nabcd") == 400)
    }

    @Test(arguments: ["3, 3", "+3", "-1", "0x3", "3 3", "", "3a", "½"])
    func invalidContentLengthIs400(_ value: String) {
        #expect(Self.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(value)\r\n\r\nabc") == 400)
    }

    @Test func chunkedIsRefusedWith411() {
        #expect(Self.status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") == 411)
        #expect(Self.status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 411)
    }

    @Test func otherTransferCodingsAre501() {
        #expect(Self.status("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n") == 501)
    }

    // MARK: strictness

    @Test(arguments: [
        ("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n"),
        ("bare LF in head", "GET / HTTP/1.1\nHost: x\r\n\r\n"),
        ("bare LF ending head", "GET / HTTP/1.1\r\nHost: x\n\n"),
        ("bare CR", "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n"),
        ("CR in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
        ("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
        ("invalid header name", "GET / HTTP/1.1\r\nHost: x\r\nX[A]: b\r\n\r\n"),
        ("empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n"),
        ("no colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"),
        ("NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n"),
        ("DEL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{7F}b\r\n\r\n"),
        ("non-ASCII method", "GÉT / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("separator in method", "GE(T / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("trailing space", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n"),
        ("HTTP/0.9", "GET /\r\n\r\n"),
        ("lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n"),
        ("missing Host", "GET / HTTP/1.1\r\n\r\n"),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
        ("fragment", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("non-ASCII target", "GET /é HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("relative target", "GET a/b HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("asterisk for GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("bad escape in path", "GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("bad escape in query", "GET /a?x=%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("escape not UTF-8", "GET /a?x=%ff HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("value not UTF-8", "GET / HTTP/1.1\r\nHost: x\r\nX-A: \u{FF}\r\n\r\n"),
    ])
    func malformedIs400(_ name: String, _ input: String) {
        var bytes = Array(input.utf8)
        if name == "value not UTF-8" { bytes = Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: ".utf8) + [0xFF] + Array("\r\n\r\n".utf8) }
        let results = Self.parseAll(bytes, chunks: [bytes.count])
        #expect(results.last.map { if case .error(let e) = $0 { e.status.code } else { 0 } } == 400, "\(name)")
    }

    @Test func validUTF8HeaderValueIsKept() throws {
        #expect(try Self.request("GET / HTTP/1.1\r\nHost: x\r\nX-Label: rack-é\r\n\r\n").headers["x-label"] == "rack-é")
    }

    @Test func unknownAndLowercaseMethodsReachTheHandler() throws {
        #expect(try Self.request("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n").method == "BREW")
        #expect(try Self.request("get / HTTP/1.1\r\nHost: x\r\n\r\n").method == "get")
    }

    @Test func otherTargetForms() throws {
        let absolute = try Self.request("GET http://example.org:8080/v1/x?a=b HTTP/1.1\r\nHost: example.org:8080\r\n\r\n")
        #expect(absolute.path == "/v1/x")
        #expect(absolute.queryValue("a") == "b")
        #expect(try Self.request("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").path == "*")
    }

    @Test func versions() throws {
        #expect(Self.status("GET / HTTP/2.0\r\nHost: x\r\n\r\n") == 505)
        #expect(try Self.request("GET / HTTP/1.2\r\nHost: x\r\n\r\n").version == .http11)
        let old = try Self.request("GET / HTTP/1.0\r\n\r\n")
        #expect(old.version == .http10)
        #expect(!old.keepAlive)
        #expect(try Self.request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
        #expect(try !Self.request("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n").keepAlive)
    }

    // MARK: limits

    @Test func headTooLargeIs431() {
        let limits = HTTPLimits(maxHeadBytes: 256)
        let big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 300))\r\n\r\n"
        #expect(Self.status(big, limits: limits) == 431)
        // Answered as soon as the limit is crossed, without waiting for the end of the head.
        #expect(Self.status(String(big.prefix(260)), limits: limits) == 431)
        #expect(Self.status("GET /\(String(repeating: "a", count: 300)) HTTP/1.1\r\n", limits: limits) == 414)
        #expect(Self.status("GET / HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits) == nil)
    }

    @Test func defaultHeadLimitIs16KiB() {
        let filler = String(repeating: "a", count: 16 * 1024)
        #expect(Self.status("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(filler)\r\n\r\n") == 431)
        let fits = String(repeating: "a", count: 16 * 1024 - 200)
        #expect(Self.status("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(fits)\r\n\r\n") == nil)
    }

    @Test func tooManyHeadersIs431() {
        let limits = HTTPLimits(maxHeaderCount: 5)
        let fields = (0..<5).map { "X-\($0): v\r\n" }.joined()
        #expect(Self.status("GET / HTTP/1.1\r\nHost: x\r\n\(fields)\r\n", limits: limits) == 431)
        #expect(Self.status("GET / HTTP/1.1\r\n\(fields)\r\n", limits: limits) == 400)  // 5 fields fit; Host missing
    }

    @Test func bodyTooLargeIs413BeforeTheBody() {
        #expect(Self.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4194305\r\n\r\n") == 413)
        #expect(Self.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 413)
        #expect(Self.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n") == nil)
    }

    // MARK: expect, phases, failure

    @Test func expectContinueIsAskedForOnce() {
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n".utf8))
        // The head comes out first: the server admits it before it takes the request for 100 Continue.
        guard case .head = parser.next() else { Issue.record("no head"); return }
        let first = parser.next()
        #expect(first == .needMore)
        #expect(parser.phase == .body)
        let asked = parser.takeContinueRequest()
        let askedAgain = parser.takeContinueRequest()
        #expect(asked)
        #expect(!askedAgain)
        parser.append(Array("ok".utf8))
        guard case .request(let r) = parser.next() else { Issue.record("no request"); return }
        #expect(r.body == Array("ok".utf8))
        #expect(parser.phase == .idle)
        #expect(Self.status("POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n") == 417)
    }

    @Test func phasesFollowTheRequest() {
        var parser = HTTPRequestParser()
        #expect(parser.phase == .idle)
        parser.append(Array("GE".utf8))
        let partial = parser.next()
        #expect(partial == .needMore)
        #expect(parser.phase == .head)
        parser.append(Array("T / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        guard case .head = parser.next() else { Issue.record("no head"); return }
        guard case .request = parser.next() else { Issue.record("no request"); return }
        #expect(parser.phase == .idle)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func errorsAreSticky() {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/1.1\nHost: x\r\n\r\n".utf8))
        let first = parser.next()
        parser.append(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let second = parser.next()
        #expect(second == first)
    }

    @Test func longKeepAliveStreamDoesNotGrowTheBuffer() {
        var parser = HTTPRequestParser()
        let one = Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello".utf8)
        for _ in 0..<10_000 {
            parser.append(one)
            guard case .head = parser.next(), case .request = parser.next() else { Issue.record("no request"); return }
        }
        #expect(parser.bufferedByteCount == 0)
    }

    /// The server admits a request on its head alone: the parser hands the head out before reading any
    /// body, with the announced length, even when the body arrived in the same bytes.
    @Test func theHeadComesOutBeforeItsBody() {
        var parser = HTTPRequestParser()
        parser.append(Array("POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        guard case .head(let head) = parser.next() else { Issue.record("no head first"); return }
        #expect(head.path == "/v1/reports")
        #expect(head.headers["authorization"] == "Bearer t")
        #expect(head.body.isEmpty)
        #expect(head.contentLength == 5)
        guard case .request(let request) = parser.next() else { Issue.record("no request after the head"); return }
        #expect(request.body == Array("hello".utf8))
        #expect(request.contentLength == 5)
        guard case .head(let next) = parser.next() else { Issue.record("the pipelined request's head"); return }
        #expect(next.method == "GET" && next.contentLength == 0)

        var waiting = HTTPRequestParser()
        waiting.append(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n".utf8))
        guard case .head(let big) = waiting.next() else { Issue.record("no head without its body"); return }
        #expect(big.contentLength == 4_194_304)
        #expect(waiting.next() == .needMore)
    }

    /// A large body that ends the buffer is handed over, not copied; one followed by a pipelined request
    /// is copied. Either way the bytes and what follows are exact.
    @Test func largeBodiesArriveWholeWhetherHandedOverOrCopied() {
        let size = HTTPRequestParser.handOverBodyBytes + 1000
        let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let head = Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(size)\r\n\r\n".utf8)
        for pipelined in [false, true] {
            var parser = HTTPRequestParser()
            parser.append(head)
            guard case .head = parser.next() else { Issue.record("no head"); return }
            parser.reserveBodyCapacity()
            for chunk in stride(from: 0, to: size, by: 65536) { parser.append(body[chunk..<min(size, chunk + 65536)]) }
            if pipelined { parser.append(Array("GET /next HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) }
            guard case .request(let r) = parser.next() else { Issue.record("no request"); return }
            #expect(r.body == body)
            if pipelined {
                guard case .head(let next) = parser.next(), case .request = parser.next() else { Issue.record("no pipelined request"); return }
                #expect(next.path == "/next")
            }
            #expect(parser.bufferedByteCount == 0)
            #expect(parser.phase == .idle)
        }
    }
}
