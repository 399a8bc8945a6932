import Server
import Store

/// Probes and metrics: /healthz (the process answers), /readyz (the database answers and its schema is
/// this binary's), /metrics (Prometheus text).
extension API {
    func healthz(_ request: HTTPRequest) throws -> HTTPResponse {
        _ = try Parameters(request, allowed: [])
        return .json(.object([("status", .string("ok"))]))
    }

    func readyz(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        _ = try Parameters(request, allowed: [])
        let pending: [String]
        do {
            pending = try store.pendingMigrations()
        } catch {
            throw APIError(.serviceUnavailable, "not_ready", "the database cannot be read: \(error)")
        }
        guard pending.isEmpty else {
            throw APIError(.serviceUnavailable, "not_ready", "migrations not applied: \(pending.joined(separator: ", "))")
        }
        return .json(.object([("status", .string("ready")), ("migrations", .int(Migration.sqlite.count))]))
    }

    func metricsText(_ request: HTTPRequest) throws -> HTTPResponse {
        _ = try Parameters(request, allowed: [])
        return .text(.ok, metrics.exposition(databaseBytes: registry.databaseBytes()), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}
