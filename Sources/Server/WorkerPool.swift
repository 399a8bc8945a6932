import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// At most `capacity` connections at a time, each on a worker thread of its own. Workers are started
/// when needed and then kept, waiting for the next connection, until `stop()`. The descriptors belong
/// to `ConnectionSlots`; `work` closes its connection there when done.
final class WorkerPool: @unchecked Sendable {
    typealias Job = (fd: Int32, remote: String)

    private let condition = NSCondition()
    private let capacity: Int
    private let work: @Sendable (Job) -> Void
    private var queue: [Job] = []
    private var idleWorkers = 0
    /// Connections submitted and not yet done.
    private var active = 0
    private var stopping = false

    init(capacity: Int, work: @escaping @Sendable (Job) -> Void) {
        self.capacity = capacity
        self.work = work
    }

    var activeCount: Int { condition.withLock { active } }

    /// Takes the connection if a slot is free; false means the caller must refuse it.
    func submit(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard active < capacity, !stopping else { return false }
        active += 1
        queue.append(job)
        if idleWorkers >= queue.count {
            condition.signal()
        } else {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "http-worker"
            thread.start()
        }
        return true
    }

    private func workerLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping {
                idleWorkers += 1
                condition.wait()
                idleWorkers -= 1
            }
            guard !queue.isEmpty else {
                condition.unlock()
                return
            }
            let job = queue.removeFirst()
            condition.unlock()

            work(job)

            condition.lock()
            active -= 1
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Refuses new work and lets idle workers exit; busy ones finish their connection first.
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    /// Waits until no connection is open, or the deadline (monotonic ms) passes. True when none is.
    func waitUntilIdle(deadline: Int64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while active > 0 {
            let remaining = deadline - MonotonicClock.millis()
            if remaining <= 0 { return false }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(remaining) / 1000))
        }
        return true
    }
}
