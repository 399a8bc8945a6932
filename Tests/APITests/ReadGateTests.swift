import Foundation
import Testing
@testable import API

/// Probes, /metrics and refusals never wait behind the read gate: with every read slot held (as slow
/// queries would hold them), they are answered at once, while a query waits for a slot.
@Suite(.serialized) struct ReadGateTests {
    /// Holds every slot of `api`'s gate until `release()`.
    final class HeldSlots: @unchecked Sendable {
        let released = DispatchSemaphore(value: 0)
        let count: Int

        init(_ api: API) {
            count = API.defaultConcurrentReads
            let held = DispatchSemaphore(value: 0)
            // One identity each: one identity may not hold them all.
            for i in 0..<count {
                Thread.detachNewThread { [released] in api.readGate.run(for: "holder-\(i)") { held.signal(); released.wait() } }
            }
            for _ in 0..<count { held.wait() }
        }

        func release() { for _ in 0..<count { released.signal() } }
    }

    @Test func probesMetricsAndRefusalsAnswerWhileEverySlotIsHeld() throws {
        let t = try TestAPI()
        let slots = HeldSlots(t.api)
        // A query must wait: the slots really are held.
        let answered = DispatchSemaphore(value: 0)
        let status = LockedStatus()
        let reader = t.client()
        Thread.detachNewThread { status.set((try? reader.get("/v1/hosts").status) ?? -1); answered.signal() }
        #expect(answered.wait(timeout: .now() + 0.5) == .timedOut, "a query waits for a read slot")

        let started = Date()
        #expect(try t.get("/healthz", token: nil).status == 200)
        #expect(try t.get("/readyz", token: nil).status == 200)
        #expect(try t.get("/metrics").status == 200)
        #expect(try t.get("/v1/hosts", token: nil).status == 401)
        #expect(try t.get("/v1/hosts", token: TestAPI.collectorToken).status == 403)
        #expect(try t.get("/v1/no-such-thing").status == 404)
        #expect(try t.client().request("POST", "/v1/hosts").status == 405)
        #expect(Date().timeIntervalSince(started) < 2, "every one answered at once, not after a slot")

        slots.release()
        #expect(answered.wait(timeout: .now() + 10) == .success)
        #expect(status.value == 200, "the query is answered once a slot frees")
    }

    /// Starts `run(for: identity)` on a thread that holds its slot until the returned semaphore is signalled.
    private static func hold(_ gate: ReadGate, _ identity: String, _ finished: DispatchGroup) -> DispatchSemaphore {
        let release = DispatchSemaphore(value: 0)
        let holding = DispatchSemaphore(value: 0)
        finished.enter()
        Thread.detachNewThread { gate.run(for: identity) { holding.signal(); release.wait() }; finished.leave() }
        holding.wait()
        return release
    }

    private static func queue(_ gate: ReadGate, _ identity: String, _ name: String, _ order: LockedOrder,
                              _ finished: DispatchGroup, waiting: Int) {
        finished.enter()
        Thread.detachNewThread { gate.run(for: identity) { order.append(name) }; finished.leave() }
        while gate.waitingCount < waiting { usleep(1000) }
    }

    /// Three slots, held by A (two, its share) and C; A has two more queries waiting and B one, queued
    /// last. C's slot freeing goes to B, which holds fewest (A is at its share anyway); A's waiters
    /// follow in their order as A's own slots free.
    @Test func aFreedSlotGoesToTheWaitingIdentityHoldingFewest() {
        let gate = ReadGate(limit: 3)
        let order = LockedOrder()
        let finished = DispatchGroup()
        let a = [Self.hold(gate, "A", finished), Self.hold(gate, "A", finished)]
        let c = Self.hold(gate, "C", finished)
        Self.queue(gate, "A", "A3", order, finished, waiting: 1)
        Self.queue(gate, "A", "A4", order, finished, waiting: 2)
        Self.queue(gate, "B", "B1", order, finished, waiting: 3)
        c.signal()
        while order.names.count < 1 { usleep(1000) }
        a[0].signal()
        while order.names.count < 3 { usleep(1000) }
        #expect(order.names == ["B1", "A3", "A4"])
        a[1].signal()
        #expect(finished.wait(timeout: .now() + 5) == .success)
        #expect(gate.waitingCount == 0)
    }

    /// One identity holds at most all slots but one: with A holding two of three, A's third query waits
    /// though a slot is free, and B's query takes that slot at once — the slow queries of one token
    /// never leave another token waiting for them to end.
    @Test func oneIdentityLeavesASlotForOthers() {
        let gate = ReadGate(limit: 3)
        #expect(gate.perIdentity == 2)
        let order = LockedOrder()
        let finished = DispatchGroup()
        let a = [Self.hold(gate, "A", finished), Self.hold(gate, "A", finished)]
        Self.queue(gate, "A", "A3", order, finished, waiting: 1)
        usleep(50_000)
        #expect(order.names.isEmpty, "A's third query waits: A holds its share")
        gate.run(for: "B") { order.append("B1") }
        #expect(order.names == ["B1"], "B was answered while A held two slots and waited for a third")
        a[0].signal()
        while order.names.count < 2 { usleep(1000) }
        #expect(order.names == ["B1", "A3"])
        a[1].signal()
        #expect(finished.wait(timeout: .now() + 5) == .success)
    }

    final class LockedOrder: @unchecked Sendable {
        private let lock = NSLock()
        private var _names: [String] = []
        var names: [String] { lock.withLock { _names } }
        func append(_ name: String) { lock.withLock { _names.append(name) } }
    }

    final class LockedStatus: @unchecked Sendable {
        private let lock = NSLock()
        private var _value = 0
        var value: Int { lock.withLock { _value } }
        func set(_ v: Int) { lock.withLock { _value = v } }
    }
}
