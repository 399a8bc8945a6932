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
            for _ in 0..<count {
                Thread.detachNewThread { [released] in api.readGate.run(for: "holder") { held.signal(); released.wait() } }
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

    /// Identity A holds both slots and has two more queries waiting; B's one query, queued last, gets the
    /// next slot, because A already holds more. Then A's waiters in their order.
    @Test func aFreedSlotGoesToTheWaitingIdentityHoldingFewest() {
        let gate = ReadGate(limit: 2)
        let order = LockedOrder()
        let release = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let holding = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        for r in release {
            finished.enter()
            Thread.detachNewThread { gate.run(for: "A") { holding.signal(); r.wait() }; finished.leave() }
        }
        for _ in release { holding.wait() }
        func queue(_ identity: String, _ name: String, waiting: Int) {
            finished.enter()
            Thread.detachNewThread { gate.run(for: identity) { order.append(name) }; finished.leave() }
            while gate.waitingCount < waiting { usleep(1000) }
        }
        queue("A", "A3", waiting: 1)
        queue("A", "A4", waiting: 2)
        queue("B", "B1", waiting: 3)
        release[0].signal()
        while order.names.count < 3 { usleep(1000) }
        #expect(order.names == ["B1", "A3", "A4"])
        release[1].signal()
        #expect(finished.wait(timeout: .now() + 5) == .success)
        #expect(gate.waitingCount == 0)
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
