import PostgresNIO
import Store

/// An error from PostgreSQL or from the way to it. What it says (`summary`, `description`) is the
/// SQLSTATE and the server's message, or what failed on the connection: never the statement nor its
/// arguments (PostgresNIO's own error description carries the query).
public struct PostgresBackendError: SQLBackendError, CustomStringConvertible, Sendable {
    /// The five-character SQLSTATE the server sent; nil when the connection failed instead.
    public var sqlState: String?
    public var message: String
    /// The connection is unusable (closed, I/O error, server shutting down, now a standby): the pool
    /// drops it, and the next transaction opens a fresh one.
    public var connectionLost: Bool

    public var summary: String {
        if let sqlState { return "PostgreSQL \(sqlState): \(message)" }
        return "PostgreSQL connection: \(message)"
    }

    public var description: String { summary }

    /// A lost connection (which includes a server that became a standby) is the database's passing state.
    public var unavailable: Bool { connectionLost }

    /// Server states after which a connection is not to be used again: connection exceptions (08),
    /// the server shutting down or not accepting connections (57P01…57P03), and read-only transaction
    /// (25006: the server became a standby after a failover; a new connection finds the new primary).
    static func losesConnection(_ sqlState: String) -> Bool {
        sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "25006"].contains(sqlState)
    }

    init(sqlState: String?, message: String, connectionLost: Bool) {
        self.sqlState = sqlState
        self.message = message
        self.connectionLost = connectionLost
    }

    /// `error` as thrown by PostgresNIO (or NIO under it), on `connection` (nil while connecting).
    init(_ error: any Error, connection: PostgresConnection?) {
        let closed = connection?.isClosed ?? true
        if let error = error as? PSQLError {
            if error.code == .server, let info = error.serverInfo {
                let state = info[.sqlState] ?? "XX000"
                self.init(sqlState: state, message: info[.message] ?? "(no message)",
                          connectionLost: closed || Self.losesConnection(state))
                return
            }
            var words = error.code.description
            if let underlying = error.underlying { words += " (\(Self.describe(underlying)))" }
            // Every failure but these leaves the connection in an unknown state.
            let harmless: [PSQLError.Code] = [.tooManyParameters, .invalidCommandTag]
            self.init(sqlState: nil, message: words, connectionLost: closed || !harmless.contains(error.code))
            return
        }
        self.init(sqlState: nil, message: Self.describe(error), connectionLost: true)
    }

    /// A non-PostgreSQL error in words: NIO's errors (connection refused, timeout) describe themselves.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresBackendError { return error.message }
        if error is PSQLError { return "\((error as! PSQLError).code)" }
        return String(describing: error)
    }
}

/// The pool was closed (`PostgresDatabase.close()`), or no host could be reached.
public struct PostgresUnavailable: SQLBackendError, CustomStringConvertible, Sendable {
    public var summary: String
    public var description: String { summary }
    public var unavailable: Bool { true }
}
