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
                Thread.detachNewThread { [released] in api.readGate.run { held.signal(); released.wait() } }
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

    final class LockedStatus: @unchecked Sendable {
        private let lock = NSLock()
        private var _value = 0
        var value: Int { lock.withLock { _value } }
        func set(_ v: Int) { lock.withLock { _value = v } }
    }
}
