import Decoders

/// What a predicate is about: a vocabulary fact, the host's kernel release, or one of its labels.
public enum QueryTerm: Hashable, Sendable, CustomStringConvertible {
    case fact(String, FactType)
    case kernel
    case label(String)

    var isFact: Bool {
        if case .fact = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .fact(let name, _): return name
        case .kernel: return "kernel"
        case .label(let key): return "label." + key
        }
    }
}

public enum QueryOp: String, Hashable, Sendable, CaseIterable {
    case eq = "=", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="

    /// The operator that holds exactly when this one does not (on a known value).
    public var negated: QueryOp {
        switch self {
        case .eq: return .ne
        case .ne: return .eq
        case .lt: return .ge
        case .le: return .gt
        case .gt: return .le
        case .ge: return .lt
        }
    }

    public var isOrdering: Bool { self != .eq && self != .ne }
}

/// A literal already checked against its term's type. Kernel versions are `.kernel`, never `.text`.
public enum QueryLiteral: Hashable, Sendable, CustomStringConvertible {
    case bool(Bool)
    case int(Int64)
    case text(String)
    case kernel(KernelVersion)

    public var description: String {
        switch self {
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .text(let s): return QueryLiteral.quote(s)
        case .kernel(let k): return QueryLiteral.quote(k.text)
        }
    }

    static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// A parsed, type-checked expression. `and`/`or` are n-ary (flattened) so that long chains stay shallow
/// for every consumer, including SQLite's expression-depth limit.
public indirect enum QueryExpr: Hashable, Sendable, CustomStringConvertible {
    case and([QueryExpr])
    case or([QueryExpr])
    case not(QueryExpr)
    case compare(QueryTerm, QueryOp, QueryLiteral)
    /// `term in (v1, v2, …)`.
    case oneOf(QueryTerm, [QueryLiteral])
    /// `known(term)` (or its synonym `has(term)`): the fact (label, kernel) was reported. Never unknown.
    case has(QueryTerm)
    /// `covers(term, address)`: some window of the term's IOVA window list (IOVAWindows' text form, e.g.
    /// `vfio.iova_windows`) contains the address. Unknown when the host has no such list.
    case covers(QueryTerm, Int64)
    /// A named group: evaluates exactly as its expression; explain reports its name. A profile call
    /// becomes `.named(profile, .and([.named(condition id, condition), …]))`.
    case named(String, QueryExpr)
    /// `devices(inner) op count`: how many of the host's PCI devices satisfy `inner` (over `device.*`
    /// names only), compared with `count`. Unknown when the host reported no devices (no `devices.count`).
    case devices(QueryExpr, QueryOp, Int64)

    /// Fully parenthesized, so that tests can see how an expression was grouped. Always query text that
    /// parses to an equivalent expression: a named group prints as its expression (names are lost).
    public var description: String {
        switch self {
        case .and(let parts): return "(" + parts.map(\.description).joined(separator: " and ") + ")"
        case .or(let parts): return "(" + parts.map(\.description).joined(separator: " or ") + ")"
        case .not(let e): return "(not \(e))"
        case .compare(let t, let op, let v): return "\(t) \(op.rawValue) \(v)"
        case .oneOf(let t, let vs): return "\(t) in (" + vs.map(\.description).joined(separator: ", ") + ")"
        case .has(let t): return "known(\(t))"
        case .covers(let t, let address): return "covers(\(t), \(hex(UInt64(address))))"
        case .named(_, let e): return e.description
        case .devices(let inner, let op, let count): return "devices(\(inner)) \(op.rawValue) \(count)"
        }
    }

    /// Whether a `devices(…)` appears anywhere (answers it needs a device-aware reader for).
    public var readsDevices: Bool {
        switch self {
        case .and(let parts), .or(let parts): return parts.contains { $0.readsDevices }
        case .not(let inner), .named(_, let inner): return inner.readsDevices
        case .devices: return true
        case .compare, .oneOf, .has, .covers: return false
        }
    }

    /// Terms in order of first appearance (for default output columns).
    public var terms: [QueryTerm] {
        var seen = Set<QueryTerm>()
        var out: [QueryTerm] = []
        func walk(_ e: QueryExpr) {
            switch e {
            case .and(let parts), .or(let parts): parts.forEach(walk)
            case .not(let inner), .named(_, let inner): walk(inner)
            case .compare(let t, _, _), .oneOf(let t, _), .has(let t), .covers(let t, _):
                if seen.insert(t).inserted { out.append(t) }
            case .devices:
                // The inner names are a device's; the host's term is its device count.
                let t = QueryTerm.fact(PCIDevice.hostCount, .int)
                if seen.insert(t).inserted { out.append(t) }
            }
        }
        walk(self)
        return out
    }
}
