import Dispatch

/// Where PostgresNIO's async COPY runs while a plain thread waits for it (PostgresTransaction.insertRows):
/// a queue of its own, not Swift's cooperative pool. A caller that blocks a cooperative thread (a test, an
/// async command) while the COPY waits for one could otherwise deadlock: the pool has one thread a core.
final class CopyExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = CopyExecutor()
    private let queue = DispatchQueue(label: "capreg.postgres.copy")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
