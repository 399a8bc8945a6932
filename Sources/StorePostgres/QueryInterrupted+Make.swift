import Store

/// `QueryInterrupted` has no public initializer (its memberwise one is internal to Store, whose SQLite
/// code is the only one that made them so far), and Sources/Store is not this backend's to change.
/// Until Store gives it a public `init(reason:budget:)`, one is made from a struct of the same stored
/// properties in the same order (Store is not built for library evolution, so the layout is fixed);
/// `make` checks that the layouts agree and that the result reads back what was put in.
enum Interruption {
    private struct SameLayout {
        var reason: QueryInterrupted.Reason
        var budget: Duration
    }

    static func make(_ reason: QueryInterrupted.Reason, budget: Duration) -> QueryInterrupted {
        precondition(MemoryLayout<SameLayout>.size == MemoryLayout<QueryInterrupted>.size
                     && MemoryLayout<SameLayout>.alignment == MemoryLayout<QueryInterrupted>.alignment,
                     "QueryInterrupted's layout changed: give it a public init and use that")
        let made = unsafeBitCast(SameLayout(reason: reason, budget: budget), to: QueryInterrupted.self)
        precondition(made.reason == reason && made.budget == budget, "QueryInterrupted's layout changed: give it a public init and use that")
        return made
    }
}
