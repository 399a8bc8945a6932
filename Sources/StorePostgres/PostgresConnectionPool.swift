import Foundation
import PostgresNIO

/// Up to `capacity` connections, opened when first needed. A caller takes one for a transaction and
/// gives it back; one that failed at the connection level is dropped instead, and a fresh one is opened
/// on a later take, so the registry reconnects by itself after a restart or a failover.
final class PostgresConnectionPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var idle: [PooledConnection] = []
    /// Connections in use, idle, or being opened.
    private var count = 0
    private var closed = false
    let capacity: Int
    private let open: () throws -> PooledConnection

    init(capacity: Int, open: @escaping () throws -> PooledConnection) {
        self.capacity = capacity
        self.open = open
    }

    /// An idle connection still open, else a new one while fewer than `capacity` exist, else waits.
    /// `fresh`: the connection was opened for this call (not reused).
    func take() throws -> (connection: PooledConnection, fresh: Bool) {
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw PostgresUnavailable(summary: "the PostgreSQL store is closed")
            }
            if let connection = idle.popLast() {
                // Closed while idle (server restarted, idle timeout): drop it and look again.
                if connection.connection.isClosed {
                    count -= 1
                    continue
                }
                condition.unlock()
                return (connection, false)
            }
            if count < capacity {
                count += 1
                condition.unlock()
                do {
                    return (try open(), true)
                } catch {
                    condition.lock()
                    count -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            condition.wait()
        }
    }

    /// Back to the pool, or closed and forgotten when it is not `reusable`.
    func give(_ connection: PooledConnection, reusable: Bool) {
        condition.lock()
        precondition(!idle.contains { $0 === connection }, "a connection given back twice")
        let keep = reusable && !closed && !connection.connection.isClosed
        if keep { idle.append(connection) } else { count -= 1 }
        condition.signal()
        condition.unlock()
        // Not waited for: a broken connection may take its time to close.
        // Held until closed: PostgresNIO must not see its connection freed while it closes.
        if !keep { connection.connection.close().whenComplete { _ in withExtendedLifetime(connection) {} } }
    }

    /// Closes the idle connections; those in use close when given back.
    func close() {
        condition.lock()
        closed = true
        let connections = idle
        idle = []
        count -= connections.count
        condition.broadcast()
        condition.unlock()
        for connection in connections { try? connection.connection.close().wait() }
    }
}

/// A pooled connection and what cancelling its statement takes: the server it is on and its backend's
/// process id (pg_cancel_backend, from another connection: PostgresNIO has no cancel request).
final class PooledConnection: @unchecked Sendable {
    let connection: PostgresConnection
    let host: PostgresURL.Host
    let backendPID: Int32

    init(connection: PostgresConnection, host: PostgresURL.Host, backendPID: Int32) {
        self.connection = connection
        self.host = host
        self.backendPID = backendPID
    }
}
