import Foundation

/// Lets at most `limit` GET and HEAD handlers run at once; the other connections wait their turn with
/// their requests read. A read is CPU work (SQLite pages in memory, JSON), so past about two per core
/// more of them at once only add context switches and cache misses: with 64 connections on 2 cores,
/// a gate of 4 served 10–20% more answers with a lower p99 than none (docs/figures.md). Other methods
/// pass: a write waits on the database's one writer, not on a core, and must not hold up reads.
final class ReadGate: Sendable {
    private let slots: DispatchSemaphore

    init(limit: Int) { slots = DispatchSemaphore(value: max(1, limit)) }

    func run<T>(_ method: String, _ body: () -> T) -> T {
        guard method == "GET" || method == "HEAD" else { return body() }
        slots.wait()
        defer { slots.signal() }
        return body()
    }
}
