import Foundation
import Server
import Store

/// GET /v1/watch: the change stream (docs/api.md, "Following changes"). `Accept: text/event-stream` gets
/// server-sent events for as long as the client stays; anything else a long poll: the events after
/// `since` at once if there are any, else the first to arrive within `wait` seconds, else none.
extension API {
    static let watchParameters: Set<String> = ["since", "where", "wait", "limit"]
    /// A long poll's longest wait: under the 60 s that proxies (nginx's proxy_read_timeout) allow by default.
    static let maxWatchWait = 55
    static let defaultWatchWait = 25
    /// Events a long poll's answer holds at most (`limit`), and by default.
    static let maxWatchLimit = 1000
    static let defaultWatchLimit = 100

    func watch(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: Self.watchParameters)
        let sse = request.headers["accept"].map { $0.lowercased().contains("text/event-stream") } ?? false
        var since = try p.nonNegativeInteger("since")
        if let last = request.headers["last-event-id"] {
            // An EventSource reconnecting: it resumes after the last event it received, whatever the URL says.
            guard let n = Parameters.wholeNumber(last) else {
                throw APIError.badParameter("Last-Event-ID", "expected an event id (a whole number), found \"\(last.prefix(40))\"")
            }
            since = n
        }
        let filter = try p.expression("where", overHistory: true)
        if sse, p.string("wait") != nil || p.string("limit") != nil {
            throw APIError.badParameter(p.string("wait") != nil ? "wait" : "limit", "applies to long polls only (not Accept: text/event-stream)")
        }
        let wait = try p.nonNegativeInteger("wait").map { n throws(APIError) -> Int in
            guard n <= Self.maxWatchWait else { throw APIError.badParameter("wait", "at most \(Self.maxWatchWait) seconds, found \(n)") }
            return Int(n)
        } ?? Self.defaultWatchWait
        let limit = p.string("limit") == nil ? Self.defaultWatchLimit : try p.limit(max: Self.maxWatchLimit)

        let edge = try store.watchEvents(after: Int64.max, limit: 0, withStates: false)
        let position = since ?? edge.head
        if position < edge.prunedThrough {
            throw APIError(.gone, "gone", "events up to \(edge.prunedThrough) were pruned (capreg serve --watch-retention); "
                               + "resume from since=\(edge.prunedThrough) or later, or leave since out to follow from now",
                           details: [("oldest_since", .int(Int(edge.prunedThrough)))])
        }
        if position > edge.head {
            throw APIError.badParameter(request.headers["last-event-id"] == nil ? "since" : "Last-Event-ID",
                                        "\(position) is past the newest event, \(edge.head): an id from another registry?")
        }
        let feed = watchFeed
        if sse {
            let start = StreamStart(keepAlive: Array(": keep-alive\n\n".utf8)) { stream in
                // An EventSource waits this long before reconnecting (with Last-Event-ID).
                stream.send(Array("retry: 2000\n\n".utf8))
                feed.add(WatchFeed.Watcher(stream: stream, position: position, filter: filter, poll: nil))
            }
            return HTTPResponse(headers: HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"),
                                                      ("X-Accel-Buffering", "no")]), stream: start)
        }
        // A long poll: what is there now, within one page's scan.
        let page = try store.watchEvents(after: position, limit: WatchFeed.pageSize, withStates: filter != nil)
        var kept: [(WatchEvent, Bool?)] = []
        var next = page.events.last?.id ?? position
        for e in page.events {
            let (given, matches) = WatchJSON.keeps(e, filter)
            guard given else { continue }
            kept.append((e, matches))
            if kept.count == limit {
                next = e.id
                break
            }
        }
        if !kept.isEmpty || page.events.count == WatchFeed.pageSize || wait == 0 {
            return .json(.ok, WatchJSON.pollAnswer(kept, next: next))
        }
        let deadline = WatchFeed.clockMillis() + Int64(wait) * 1000
        let from = next
        let start = StreamStart(keepAlive: nil) { stream in
            feed.add(WatchFeed.Watcher(stream: stream, position: from, filter: filter, poll: (deadline, limit)))
        }
        return HTTPResponse(headers: HTTPHeaders([("Content-Type", "application/json"), ("Cache-Control", "no-store")]), stream: start)
    }
}
