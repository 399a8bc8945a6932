import Foundation

/// Lets at most `limit` store reads for a query run at once; the other requests wait their turn with
/// their requests read. A read is CPU work (SQLite pages in memory, JSON), so past about two per core
/// more of them at once only add context switches and cache misses: with 64 connections on 2 cores,
/// a gate of 4 served 10–20% more answers with a lower p99 than none (docs/figures.md).
///
/// The API takes it (not the server) because only the API knows which answers read the store: probes,
/// /metrics, refusals (401, 403, 404, 405) and writes never wait behind slow queries (`Route.readsStore`).
final class ReadGate: Sendable {
    private let slots: DispatchSemaphore

    init(limit: Int) { slots = DispatchSemaphore(value: max(1, limit)) }

    func run<T>(_ body: () throws -> T) rethrows -> T {
        slots.wait()
        defer { slots.signal() }
        return try body()
    }

    /// Two reads per core: one computing while the other's thread is switched in or out.
    static var defaultLimit: Int { 2 * ProcessInfo.processInfo.activeProcessorCount }
}
