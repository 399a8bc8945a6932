import Foundation

/// What one store read made to answer a request may cost: CPU time of the reading thread since the read
/// began, and whether anyone still waits for it. A registry `limited(by:)` a budget passes it to its backend's
/// reads: SQLite checks it from its progress handler while a statement runs and stops the statement past
/// it; PostgreSQL sets it as the transaction's statement timeout (wall time: it cannot count a thread's CPU).
public struct QueryBudget: Sendable {
    /// CPU time (of the reading thread, not wall time: waiting for a core or a read slot costs nothing).
    public var cpu: Duration
    /// True once the client has gone (its connection closed): the read then stops, nobody reads its answer.
    public var clientGone: @Sendable () -> Bool

    public init(cpu: Duration, clientGone: @escaping @Sendable () -> Bool = { false }) {
        self.cpu = cpu
        self.clientGone = clientGone
    }
}

/// A read stopped before its end: past its budget, or because its client went away.
public struct QueryInterrupted: Error, Hashable, Sendable {
    public enum Reason: String, Hashable, Sendable, CaseIterable {
        case budget
        case clientGone = "client_gone"
    }

    public var reason: Reason
    public var budget: Duration

    public init(reason: Reason, budget: Duration) {
        self.reason = reason
        self.budget = budget
    }
}
