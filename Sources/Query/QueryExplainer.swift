import Decoders

/// One reason a host does not match: a single predicate that is false or unknown for it, with the
/// host's value. The API encodes it as `{"predicate","outcome","term","value","message","condition"}`.
public struct QueryReason: Hashable, Sendable {
    public enum Outcome: String, Hashable, Sendable {
        case `false`
        /// The host never reported the term (or reported it with another type than the vocabulary's).
        case unknown
    }

    /// The predicate as query text, e.g. `pasid_bits >= 20` or `not vtd.ecap.ers = true`; it parses, and
    /// evaluated alone on the host it gives `outcome`.
    public var predicate: String
    public var outcome: Outcome
    public var term: QueryTerm
    /// What the host has for `term`: the fact's value, the kernel release or the label (both as text);
    /// nil when never reported.
    public var value: FactValue?
    /// One line for people, e.g. `pasid_bits = 8, needs >= 20`.
    public var message: String
    /// The named groups the predicate sits in, outermost first and joined by `/` (`vtd-nested/nest`
    /// for a profile's condition); nil outside any.
    public var condition: String?

    public init(predicate: String, outcome: Outcome, term: QueryTerm, value: FactValue?, message: String, condition: String?) {
        self.predicate = predicate
        self.outcome = outcome
        self.term = term
        self.value = value
        self.message = message
        self.condition = condition
    }
}

/// Why an expression is not true for one host. Each `not` is pushed down to the predicates (De Morgan),
/// so every reason is a single predicate or its negation:
/// - `and`: the reasons of its first part that is not true;
/// - `or`: the reasons of every alternative (all of them failed);
/// - `not e`: pushed down (`not (a and b)` is `not a or not b`), then the rules above; an unknown e
///   stays unknown, a true e gives predicates that made it true, negated;
/// - a named group: its expression's reasons, with the group's name in `condition`.
public struct QueryExplainer: Sendable {
    public var host: QueryEvaluator

    public init(_ host: QueryEvaluator) { self.host = host }

    public init(facts: [String: FactValue], kernelRelease: String?, labels: [String: String]) {
        host = QueryEvaluator(facts: facts, kernelRelease: kernelRelease, labels: labels)
    }

    /// Empty exactly when the host matches (the expression is true).
    public func reasons(_ expr: QueryExpr) -> [QueryReason] {
        host.evaluate(expr) == true ? [] : reasons(expr, negated: false, condition: nil)
    }

    /// Reasons that `expr` (its negation when `negated`) is not true; the caller has checked that it is not.
    func reasons(_ expr: QueryExpr, negated: Bool, condition: String?) -> [QueryReason] {
        func holds(_ e: QueryExpr) -> Bool { host.evaluate(negated ? .not(e) : e) == true }
        switch expr {
        case .and(let parts) where !negated, .or(let parts) where negated:
            // All parts must hold: the first that does not is the reason.
            guard let first = parts.first(where: { !holds($0) }) else { return [] }
            return reasons(first, negated: negated, condition: condition)
        case .and(let parts), .or(let parts):
            // One part holding would do: none does.
            return parts.flatMap { reasons($0, negated: negated, condition: condition) }
        case .not(let inner):
            return reasons(inner, negated: !negated, condition: condition)
        case .named(let name, let inner):
            return reasons(inner, negated: negated, condition: condition.map { $0 + "/" + name } ?? name)
        case .compare(let term, _, _), .oneOf(let term, _), .has(let term), .covers(let term, _):
            return [leaf(expr, term, negated: negated, condition: condition)]
        case .devices(let inner, let op, let count):
            return [devicesLeaf(expr, inner, negated ? op.negated : op, count, negated: negated, condition: condition)]
        }
    }

    /// `devices(…) op N` not true: how many devices matched out of how many the host reported.
    func devicesLeaf(_ expr: QueryExpr, _ inner: QueryExpr, _ op: QueryOp, _ count: Int64, negated: Bool, condition: String?) -> QueryReason {
        let term = QueryTerm.fact(PCIDevice.hostCount, .int)
        let total = host.facts[PCIDevice.hostCount]
        let matching = host.matchingDevices(inner)
        let message: String
        if let matching, let total {
            message = "\(matching) of \(total) devices match \(inner), needs \(op.rawValue) \(count)"
        } else if total == nil {
            message = "\(PCIDevice.hostCount) unknown (the host reported no PCI devices), needs \(op.rawValue) \(count) devices matching \(inner)"
        } else {
            message = "the host's devices were not read, needs \(op.rawValue) \(count) devices matching \(inner)"
        }
        return QueryReason(predicate: negated ? "not \(expr)" : expr.description, outcome: host.evaluate(expr) == nil ? .unknown : .false,
                           term: term, value: matching.map { .int(Int64($0)) }, message: message, condition: condition)
    }

    func leaf(_ expr: QueryExpr, _ term: QueryTerm, negated: Bool, condition: String?) -> QueryReason {
        let value = self.value(term)
        let outcome: QueryReason.Outcome = host.evaluate(expr) == nil ? .unknown : .false
        let needs = QueryExplainer.requirement(expr, negated: negated)
        let message: String
        if case .has = expr, value == nil {
            message = "\(term) " + (QueryExplainer.isLabel(term) ? "is not set (no such label)" : "was never reported") + ", needs \(needs)"
        } else if let value, outcome == .unknown {
            message = "\(term) unknown (reported as \(value.type.rawValue) \(QueryExplainer.shown(value, term))), needs \(needs)"
        } else if let value {
            message = "\(term) = \(QueryExplainer.shown(value, term)), needs \(needs)"
        } else {
            message = "\(term) unknown (" + (QueryExplainer.isLabel(term) ? "no such label" : "never reported") + "), needs \(needs)"
        }
        return QueryReason(predicate: negated ? "not \(expr)" : expr.description, outcome: outcome, term: term, value: value,
                           message: message + usableHalves(term), condition: condition)
    }

    /// The facts explaining `expr` reads: those it names, plus `hw.NAME` and `evidence.NAME` beside each
    /// usable fact it names.
    public static func factsNeeded(_ expr: QueryExpr) -> Set<String> {
        var out = Set<String>()
        for case .fact(let name, _) in expr.terms {
            out.insert(name)
            if CrossVendor.usableNames.contains(name) { out.formUnion([CrossVendor.hw(name), CrossVendor.evidence(name)]) }
        }
        return out
    }

    /// For a usable fact (`nesting`, …): which half failed — what the hardware says (`hw.NAME`) and the
    /// kernel's evidence (`evidence.NAME`), e.g. `; hardware can; kernel refused IOMMU_HWPT_ALLOC nest_parent …`.
    func usableHalves(_ term: QueryTerm) -> String {
        guard case .fact(let name, _) = term, CrossVendor.usableNames.contains(name),
              host.facts[CrossVendor.hw(name)] != nil || host.facts[CrossVendor.evidence(name)] != nil else { return "" }
        let hardware: String
        switch host.facts[CrossVendor.hw(name)] {
        case .bool(true)?: hardware = "hardware can"
        case .bool(false)?: hardware = "hardware cannot"
        case let other?: hardware = "hardware has \(CrossVendor.hw(name)) = \(QueryExplainer.shown(other, term))"
        case nil: hardware = "hardware unknown"
        }
        let evidence = host.facts[CrossVendor.evidence(name)].map { "; " + $0.description } ?? "; no kernel evidence reported"
        return " — " + hardware + evidence
    }

    func value(_ term: QueryTerm) -> FactValue? {
        switch term {
        case .fact(let name, _): return host.facts[name]
        case .kernel: return host.kernelRelease.map { .text($0) }
        case .label(let key): return host.labels[key].map { .text($0) }
        }
    }

    /// What the predicate asks of the term's value: `>= 20`, `in ("r1", "r2")`, `known(x)`; negated, its complement.
    static func requirement(_ leaf: QueryExpr, negated: Bool) -> String {
        switch leaf {
        case .compare(_, let op, let literal): return "\((negated ? op.negated : op).rawValue) \(literal)"
        case .oneOf(_, let literals): return (negated ? "not in (" : "in (") + literals.map(\.description).joined(separator: ", ") + ")"
        case .has(let term): return (negated ? "not known(" : "known(") + "\(term))"
        case .covers(_, let address): return (negated ? "no window covering " : "a window covering ") + hex(UInt64(address))
        default: return leaf.description
        }
    }

    /// Text values quoted (they may hold spaces or be empty), except kernel releases, which never do.
    static func shown(_ value: FactValue, _ term: QueryTerm) -> String {
        if case .text(let s) = value, term != .kernel { return QueryLiteral.quote(s) }
        return value.description
    }

    static func isLabel(_ term: QueryTerm) -> Bool {
        if case .label = term { return true }
        return false
    }
}
