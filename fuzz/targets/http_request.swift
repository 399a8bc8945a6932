// fuzz-sources: Sources/Server Sources/JSONText
// libFuzzer entry: the HTTP/1.1 request parser on arbitrary bytes. The first byte picks the limits and
// how the rest is split into reads; the rest is the byte stream of one connection.
// Invariants: no crash; fed whole or split anywhere, the parser gives the same results; a request's
// body is exactly its Content-Length and follows its head, which has none; no request carries
// Transfer-Encoding (so never both CL and TE);
// limits hold; an error is final.
let fuzzLimits = [
    HTTPLimits(),
    HTTPLimits(maxHeadBytes: 64, maxHeaderCount: 3, maxBodyBytes: 16),
    HTTPLimits(maxHeadBytes: 512, maxHeaderCount: 8, maxBodyBytes: 1024),
    HTTPLimits(maxHeadBytes: 2048, maxHeaderCount: 100, maxBodyBytes: 0),
]

/// Everything the parser says about `bytes` fed in chunks of `stride` (0: all at once).
func parseStream(_ bytes: [UInt8], limits: HTTPLimits, stride: Int) -> [HTTPParseResult] {
    var parser = HTTPRequestParser(limits: limits)
    var results: [HTTPParseResult] = []
    var offset = 0
    repeat {
        let end = stride == 0 ? bytes.count : min(bytes.count, offset + stride)
        parser.append(bytes[offset..<end])
        offset = end
        while true {
            let result = parser.next()
            switch result {
            case .needMore:
                precondition(parser.bufferedByteCount <= bytes.count)
                _ = parser.takeContinueRequest()
            case .head, .request:
                results.append(result)
                continue
            case .error:
                results.append(result)
                precondition(parser.next() == result, "an error must be final")
                return results
            }
            break
        }
    } while offset < bytes.count
    return results
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = Int(data[0])
    let limits = fuzzLimits[control % fuzzLimits.count]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = parseStream(bytes, limits: limits, stride: 0)
    let stride = (control >> 2) % 16 + 1  // 1 (byte by byte) ... 16
    precondition(parseStream(bytes, limits: limits, stride: stride) == whole, "split reads changed the result")
    if control >= 128, bytes.count > 1 {
        // One split at a point the input picks, beside the regular strides.
        var parser = HTTPRequestParser(limits: limits)
        let cut = (control * 7919) % bytes.count
        parser.append(bytes[..<cut])
        var results: [HTTPParseResult] = []
        var fed = false
        while true {
            let r = parser.next()
            if r == .needMore {
                if fed { break }
                parser.append(bytes[cut...])
                fed = true
                continue
            }
            results.append(r)
            if case .error = r { break }
        }
        precondition(results == whole, "a split at \(cut) changed the result")
    }
    var lastHead: HTTPRequest?
    for result in whole {
        if case .head(let head) = result {
            precondition(lastHead == nil && head.body.isEmpty, "a head without its request, or with a body")
            lastHead = head
            continue
        }
        guard case .request(let request) = result else { continue }
        var announced = request
        announced.body = []
        precondition(lastHead == announced, "a request that differs from its head")
        precondition(request.contentLength == request.body.count)
        lastHead = nil
        let lengths = request.headers.values("content-length")
        precondition(lengths.count <= 1, "more than one Content-Length accepted")
        precondition(request.body.count == (lengths.first.flatMap { Int($0) } ?? 0), "body length is not Content-Length")
        precondition(!request.headers.contains("transfer-encoding"), "Transfer-Encoding accepted")
        precondition(request.body.count <= limits.maxBodyBytes)
        precondition(request.headers.count <= limits.maxHeaderCount)
        precondition(!request.method.isEmpty && request.method.utf8.allSatisfy(Ascii.isTokenChar))
        precondition(request.version == .http10 || request.headers.values("host").count == 1)
        precondition(request.headers.allSatisfy { field in
            !field.value.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
        }, "CR, LF or NUL in a header value")
    }
    return 0
}
