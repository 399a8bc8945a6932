import Foundation

/// Lets at most `limit` store reads for a query run at once; the other requests wait their turn with
/// their requests read. A read is CPU work (SQLite pages in memory, JSON), so past about two per core
/// more of them at once only add context switches and cache misses: with 64 connections on 2 cores,
/// a gate of 4 served 10–20% more answers with a lower p99 than none (docs/figures.md).
///
/// Fair between identities (a token, or the client's address when auth is off): a freed slot goes to
/// the waiting identity that holds the fewest slots, first come first served among equals, so one
/// client's flood of slow queries cannot starve another's query. And one identity holds at most all
/// slots but one (`perIdentity`): a slot freeing is not enough when every slot is held by queries that
/// run for seconds (up to the query budget), so another identity's query always finds a slot or waits
/// only for the queries of identities that hold no more than it would.
///
/// The API takes it (not the server) because only the API knows which answers read the store: probes,
/// /metrics, refusals (401, 403, 404, 405) and writes never wait behind slow queries (`Route.readsStore`).
final class ReadGate: @unchecked Sendable {
    private final class Waiter {
        let identity: String
        let granted = DispatchSemaphore(value: 0)
        init(_ identity: String) { self.identity = identity }
    }

    private let lock = NSLock()
    /// Slots one identity may hold: all but one, so another identity's query always finds a slot.
    let perIdentity: Int
    private var free: Int
    /// Slots held, by identity.
    private var held: [String: Int] = [:]
    /// In arrival order.
    private var waiting: [Waiter] = []

    init(limit: Int) {
        free = max(1, limit)
        perIdentity = max(1, limit - 1)
    }

    /// Runs `body` in a slot charged to `identity` (nil: the anonymous identity, one for all).
    func run<T>(for identity: String?, _ body: () throws -> T) rethrows -> T {
        let identity = identity ?? ""
        acquire(identity)
        defer { release(identity) }
        return try body()
    }

    private func acquire(_ identity: String) {
        lock.lock()
        if free > 0 && held[identity, default: 0] < perIdentity {
            free -= 1
            held[identity, default: 0] += 1
            lock.unlock()
            return
        }
        let waiter = Waiter(identity)
        waiting.append(waiter)
        lock.unlock()
        waiter.granted.wait()  // release() charged the slot to us before signalling
    }

    private func release(_ identity: String) {
        lock.withLock {
            held[identity, default: 1] -= 1
            if held[identity] == 0 { held[identity] = nil }
            guard let next = nextWaiter() else {
                free += 1
                return
            }
            let waiter = waiting.remove(at: next)
            held[waiter.identity, default: 0] += 1
            waiter.granted.signal()
        }
    }

    /// The first waiter of the identity holding the fewest slots, among identities below their share.
    private func nextWaiter() -> Int? {
        var best: (index: Int, held: Int)?
        for (index, waiter) in waiting.enumerated() {
            let holds = held[waiter.identity] ?? 0
            if holds >= perIdentity { continue }
            if best == nil || holds < best!.held { best = (index, holds) }
        }
        return best?.index
    }

    /// Waiters now, for tests.
    var waitingCount: Int { lock.withLock { waiting.count } }

    /// Two reads per core: one computing while the other's thread is switched in or out.
    static var defaultLimit: Int { 2 * ProcessInfo.processInfo.activeProcessorCount }
}
