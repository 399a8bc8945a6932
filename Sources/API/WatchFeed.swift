import Foundation
import Query
import Server
import Store
import Timestamps

/// The change stream's one reader: a thread that, every `tick`, reads the events written since its last
/// read (by this replica or any other: they share the database) and hands each watcher those it has not
/// had and its `where=` keeps. A watcher that started behind (an old `since`) is caught up from the store
/// a page at a time, never faster than its client reads. Every second it also brings staleness up to date
/// (Registry.sweepStaleness), so a host passing the freshness bound is an event within about a second;
/// every hour it prunes events past the retention.
final class WatchFeed: @unchecked Sendable {
    final class Watcher: @unchecked Sendable {
        let stream: StreamConnection
        /// The last event this watcher has been given or passed over; only the feed's thread moves it.
        var position: Int64
        let filter: QueryExpr?
        /// A long poll: answer with the first events (at most `limit`), or with none at `deadline` (monotonic ms).
        let poll: (deadline: Int64, limit: Int)?

        init(stream: StreamConnection, position: Int64, filter: QueryExpr?, poll: (deadline: Int64, limit: Int)?) {
            self.stream = stream
            self.position = position
            self.filter = filter
            self.poll = poll
        }
    }

    struct Settings: Sendable {
        var staleAfter: TimeInterval
        /// Events are kept this long, and at most `maxEvents` of them.
        var retention: TimeInterval
        var maxEvents = WatchFeed.defaultMaxEvents
        var tick: Duration = .milliseconds(100)
        var sweepEvery: Duration = .seconds(1)
    }

    static let defaultMaxEvents = 1_000_000
    /// Events read in one page (the feed's own and a catching-up watcher's).
    static let pageSize = 1000
    /// Catching-up watchers served in one tick: the rest wait for the next.
    static let catchUpsPerTick = 16
    /// A catching-up watcher is sent at most about this many bytes at a time, then waits until its client
    /// has read them (its stream's buffer is empty).
    static let catchUpBytes = 64 * 1024

    private let registry: Registry
    private let settings: Settings
    private let log: @Sendable (String) -> Void
    private let condition = NSCondition()
    private var watchers: [Watcher] = []
    private var started = false
    private var stopping = false
    private var woken = false
    private let exited = DispatchSemaphore(value: 0)
    /// The newest event the feed has read (nil until its first read); feed thread only.
    private var head: Int64?
    private var lastSweep: Int64 = 0
    private var lastPrune: Int64 = 0
    private var lastErrorLog: Int64 = 0

    /// The clock of long polls' deadlines (monotonic).
    static func clockMillis() -> Int64 { Int64(ProcessInfo.processInfo.systemUptime * 1000) }

    init(registry: Registry, settings: Settings, log: @escaping @Sendable (String) -> Void) {
        self.registry = registry
        self.settings = settings
        self.log = log
    }

    var count: Int { condition.withLock { watchers.count } }

    /// Starts the thread (once).
    func start() {
        let first = condition.withLock { () -> Bool in
            defer { started = true }
            return !started && !stopping
        }
        guard first else { return }
        let thread = Thread { [self] in loop() }
        thread.name = "watch-feed"
        thread.start()
    }

    /// Ends the thread after its round in progress, and waits for it; answers the long polls waiting (event
    /// streams are the server's to close).
    func stop() {
        let running = condition.withLock { () -> Bool in
            defer { stopping = true }
            condition.signal()
            return started && !stopping
        }
        if running { exited.wait() }
        // Long polls waiting get their (empty) answer now rather than a closed connection.
        for w in condition.withLock({ watchers }) where w.poll != nil && w.stream.isOpen {
            w.stream.finish(WatchJSON.pollAnswer([], next: w.position))
        }
    }

    func add(_ watcher: Watcher) {
        start()
        condition.withLock {
            watchers.append(watcher)
            woken = true
            condition.signal()
        }
    }

    /// Read now rather than at the next tick (a report was just stored here).
    func nudge() {
        condition.withLock {
            woken = true
            condition.signal()
        }
    }

    private func loop() {
        let tick = Double(settings.tick.components.seconds) + Double(settings.tick.components.attoseconds) / 1e18
        defer { exited.signal() }
        while true {
            let stop = condition.withLock { () -> Bool in
                if !woken && !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: tick)) }
                woken = false
                return stopping
            }
            if stop { return }
            do { try round() } catch {
                let now = Int64(Date().timeIntervalSince1970)
                if now - lastErrorLog >= 60 {
                    lastErrorLog = now
                    log("change stream: \(StoreErrorText.summary(error))")
                }
            }
        }
    }

    private func round() throws {
        let now = Date()
        let ms = Int64(now.timeIntervalSince1970 * 1000)
        if ms - lastSweep >= settings.sweepEvery.components.seconds * 1000 + settings.sweepEvery.components.attoseconds / 1_000_000_000_000_000 {
            lastSweep = ms
            try registry.sweepStaleness(cutoff: now.addingTimeInterval(-settings.staleAfter), now: now)
        }
        if ms - lastPrune >= 3_600_000 {
            lastPrune = ms
            try registry.pruneWatchEvents(before: now.addingTimeInterval(-settings.retention), keep: settings.maxEvents)
        }
        let list = condition.withLock { () -> [Watcher] in
            watchers.removeAll { !$0.stream.isOpen }
            return watchers
        }
        let start: Int64
        if let head { start = head } else {
            start = try registry.watchEvents(after: Int64.max, limit: 0, withStates: false).head
        }
        let needStates = list.contains { $0.filter != nil }
        var fresh: [WatchEvent] = []
        var position = start
        for _ in 0..<5 {
            let page = try registry.watchEvents(after: position, limit: Self.pageSize, withStates: needStates)
            fresh += page.events
            position = page.events.last?.id ?? position
            if page.events.count < Self.pageSize { break }
        }
        head = position
        var behind: [Watcher] = []
        // Each event is encoded once for all the watchers it goes to (with and without `matches`), not once each.
        var rendered = RenderedEvents()
        for w in list {
            if w.position < start {
                behind.append(w)
            } else {
                deliver(fresh.drop { $0.id <= w.position }, to: w, through: position, rendered: &rendered)
            }
        }
        for w in behind.prefix(Self.catchUpsPerTick) where w.stream.pendingBytes == 0 {
            let page = try registry.watchEvents(after: w.position, limit: Self.pageSize, withStates: w.filter != nil)
            if w.position < page.prunedThrough {
                // Pruned while it waited its turn: it cannot be resumed from here.
                w.stream.cut()
                continue
            }
            var own = RenderedEvents()
            deliver(page.events[...], to: w, through: page.events.last?.id ?? w.position, rendered: &own, catchingUp: true)
        }
        let clock = Self.clockMillis()
        for w in list where w.stream.isOpen {
            if let poll = w.poll, clock >= poll.deadline { w.stream.finish(WatchJSON.pollAnswer([], next: w.position)) }
        }
    }

    /// Gives `w` the events of `events` its filter keeps, and moves its position to `through` (or, when a
    /// long poll's limit or a catch-up's byte bound stops it first, to the last event it was given).
    private func deliver(_ events: ArraySlice<WatchEvent>, to w: Watcher, through: Int64, rendered: inout RenderedEvents,
                         catchingUp: Bool = false) {
        var kept: [(WatchEvent, Bool?)] = []
        var bytes = 0
        var last = w.position
        for e in events {
            last = e.id
            let (given, matches) = WatchJSON.keeps(e, w.filter)
            guard given else { continue }
            kept.append((e, matches))
            if let poll = w.poll, kept.count == poll.limit { break }
            bytes += 200 + (e.change?.changes.count ?? 0) * 80
            if catchingUp && bytes >= Self.catchUpBytes { break }
        }
        let stoppedEarly = last != events.last?.id && !events.isEmpty
        w.position = stoppedEarly ? last : max(w.position, through)
        if w.poll != nil {
            if !kept.isEmpty { w.stream.finish(WatchJSON.pollAnswer(kept, next: w.position)) }
        } else if !kept.isEmpty {
            var out: [UInt8] = []
            for (e, matches) in kept { out += rendered.bytes(e, matches) }
            w.stream.send(out)
        }
    }
}

/// Server-sent events already encoded in one round, by event id and `matches`.
struct RenderedEvents {
    private var done: [Int64: [UInt8]] = [:]
    private var matching: [Int64: [UInt8]] = [:]
    private var notMatching: [Int64: [UInt8]] = [:]

    mutating func bytes(_ e: WatchEvent, _ matches: Bool?) -> [UInt8] {
        func cached(_ table: inout [Int64: [UInt8]]) -> [UInt8] {
            if let hit = table[e.id] { return hit }
            let made = WatchJSON.serverSentEvent(e, matches: matches)
            table[e.id] = made
            return made
        }
        switch matches {
        case nil: return cached(&done)
        case true?: return cached(&matching)
        case false?: return cached(&notMatching)
        }
    }
}

/// The change stream's JSON: one shape for an event whether it goes out as a server-sent event or in a
/// long poll's answer.
public enum WatchJSON {
    /// Whether a watcher with `filter` is given `e`: nil when not; otherwise whether the host matches
    /// the filter after the event (nil without a filter). A host is given when it matches before or after
    /// the event, so a watcher hears a host leave its set as well as enter it.
    public static func keeps(_ e: WatchEvent, _ filter: QueryExpr?) -> (given: Bool, matches: Bool?) {
        guard let filter else { return (true, nil) }
        guard let after = e.after, let before = e.before else { return (true, nil) }  // a host since deleted: give it
        let now = QueryEvaluator(facts: after.facts, kernelRelease: after.kernelRelease, labels: after.labels).matches(filter)
        let then = QueryEvaluator(facts: before.facts, kernelRelease: before.kernelRelease, labels: before.labels).matches(filter)
        return (now || then, now)
    }

    public static func event(_ e: WatchEvent, matches: Bool?) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .int(e.id)),
            ("kind", .string(e.kind.rawValue)),
            ("hostname", .string(e.hostname)),
            ("at", .string(RFC3339.format(e.at))),
            ("revision", e.revision.map(JSONValue.int) ?? .null),
            ("last_seen", .string(RFC3339.format(e.lastSeen))),
        ]
        if let matches { members.append(("matches", .bool(matches))) }
        if let c = e.change {
            members.append(("kernel_before", .optional(c.kernelBefore)))
            members.append(("kernel_after", .optional(c.kernelAfter)))
            members.append(("changes", .array(c.changes.map { f in
                .object([
                    ("name", .string(f.name)),
                    ("change", .string(f.before == nil ? "gained" : f.after == nil ? "lost" : "changed")),
                    ("before", f.before.map(FactsJSON.value) ?? .null),
                    ("after", f.after.map(FactsJSON.value) ?? .null),
                ])
            })))
            if !c.devices.isEmpty { members.append(("devices", .array(c.devices.map(JSONValue.string)))) }
        }
        return .object(members)
    }

    /// `id:`, `event:` (the kind) and one `data:` line (JSON has no raw newline).
    static func serverSentEvent(_ e: WatchEvent, matches: Bool?) -> [UInt8] {
        Array("id: \(e.id)\nevent: \(e.kind.rawValue)\ndata: ".utf8) + event(e, matches: matches).bytes + Array("\n\n".utf8)
    }

    static func pollAnswer(_ events: [(WatchEvent, Bool?)], next: Int64) -> [UInt8] {
        JSONValue.object([
            ("events", .array(events.map { event($0.0, matches: $0.1) })),
            ("next", .int(next)),
        ]).bytes
    }
}
