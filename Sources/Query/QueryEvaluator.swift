import Decoders

/// Evaluates an expression against one host's values in Swift: three-valued logic, where a predicate
/// on an absent fact (label, kernel) is unknown (nil), `not` of unknown stays unknown, `and`/`or`
/// follow Kleene's tables, and a host matches only when the whole expression is true.
/// The store's SQL must give the same answers; tests use this as the reference.
public struct QueryEvaluator: Sendable {
    public var facts: [String: FactValue]
    public var kernelRelease: String?
    public var labels: [String: String]
    /// Each PCI device's facts (`device.*`), for `devices(…)`; nil when not read (then, like a host that
    /// reported none, `devices(…)` is unknown).
    public var devices: [[String: FactValue]]?

    public init(facts: [String: FactValue], kernelRelease: String?, labels: [String: String], devices: [[String: FactValue]]? = nil) {
        self.facts = facts
        self.kernelRelease = kernelRelease
        self.labels = labels
        self.devices = devices
    }

    public func matches(_ expr: QueryExpr) -> Bool { evaluate(expr) == true }

    /// true, false, or nil when unknown.
    public func evaluate(_ expr: QueryExpr) -> Bool? {
        switch expr {
        case .and(let parts):
            var result: Bool? = true
            for part in parts {
                switch evaluate(part) {
                case false?: return false
                case nil: result = nil
                case true?: break
                }
            }
            return result
        case .or(let parts):
            var result: Bool? = false
            for part in parts {
                switch evaluate(part) {
                case true?: return true
                case nil: result = nil
                case false?: break
                }
            }
            return result
        case .not(let inner):
            return evaluate(inner).map { !$0 }
        case .named(_, let inner):
            return evaluate(inner)
        case .has(let term):
            switch term {
            case .fact(let name, _): return facts[name] != nil
            case .kernel: return kernelRelease != nil
            case .label(let key): return labels[key] != nil
            }
        case .covers(let term, let address):
            guard case .fact(let name, _) = term, case .text(let windows)? = facts[name] else { return nil }
            return IOVAWindows.covers(windows, UInt64(address))
        case .compare(let term, let op, let literal):
            return compare(term, op, literal)
        case .devices(let inner, let op, let count):
            guard let matching = matchingDevices(inner) else { return nil }
            return QueryEvaluator.order(Int64(matching), op, count)
        case .oneOf(let term, let literals):
            var result: Bool? = false
            for literal in literals {
                switch compare(term, .eq, literal) {
                case true?: return true
                case nil: result = nil
                case false?: break
                }
            }
            return result
        }
    }

    /// How many devices `inner` holds for; nil when the host reported no devices or they were not read.
    public func matchingDevices(_ inner: QueryExpr) -> Int? {
        guard facts[PCIDevice.hostCount] != nil, let devices else { return nil }
        return devices.reduce(0) { n, device in
            n + (QueryEvaluator(facts: device, kernelRelease: nil, labels: [:]).evaluate(inner) == true ? 1 : 0)
        }
    }

    func compare(_ term: QueryTerm, _ op: QueryOp, _ literal: QueryLiteral) -> Bool? {
        switch (term, literal) {
        case (.kernel, .kernel(let version)):
            guard let kernelRelease else { return nil }
            return version.matches(KernelRelease(kernelRelease), op)
        case (.label(let key), .text(let wanted)):
            guard let value = labels[key] else { return nil }
            return QueryEvaluator.same(value, wanted) == (op == .eq)
        case (.fact(let name, _), _):
            switch (facts[name], literal) {
            case (.bool(let b)?, .bool(let wanted)): return op == .eq ? b == wanted : b != wanted
            case (.text(let s)?, .text(let wanted)): return QueryEvaluator.same(s, wanted) == (op == .eq)
            case (.int(let i)?, .int(let wanted)): return QueryEvaluator.order(i, op, wanted)
            default: return nil  // absent, or stored with another type than the vocabulary's
            }
        default:
            return nil
        }
    }

    /// Byte equality, as SQL compares text (Swift's == would equate canonically equivalent forms).
    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    static func order(_ a: Int64, _ op: QueryOp, _ b: Int64) -> Bool {
        switch op {
        case .eq: return a == b
        case .ne: return a != b
        case .lt: return a < b
        case .le: return a <= b
        case .gt: return a > b
        case .ge: return a >= b
        }
    }
}
