import Decoders

/// A named set of conditions a hypervisor checks on a host before it enables a nested vIOMMU there,
/// written in the query language so that a profile can be used in any query (docs/profiles.md).
/// Conditions are templates: `{name}` stands for a parameter, replaced by the argument as a literal.
public struct CompatibilityProfile: Sendable {
    public var name: String
    public var summary: String
    public var parameters: [ProfileParameter]
    /// In the order a hypervisor would check them; the profile holds when every applicable one holds.
    public var conditions: [ProfileCondition]

    public init(name: String, summary: String, parameters: [ProfileParameter], conditions: [ProfileCondition]) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.conditions = conditions
    }

    /// Every profile capreg knows, in listing order.
    public static let all: [CompatibilityProfile] = [vtdNested, smmuv3Nested, amdNested]

    public static func named(_ name: String) -> CompatibilityProfile? { all.first { $0.name == name } }

    /// Checks `arguments` against the named profile's parameters (absent ones take their defaults) and
    /// returns each applicable condition as a typed expression, plus their conjunction.
    public static func expand(_ name: String, arguments: [String: QueryLiteral] = [:],
                              vocabulary: [String: VocabularyEntry] = Vocabulary.byName) throws(ProfileError) -> ExpandedProfile {
        guard let profile = named(name) else {
            let known = all.map(\.name)
            let near = NameSuggestions.nearest(name, in: known).filter(known.contains)
            let hint = near.isEmpty ? "" : "; did you mean " + near.joined(separator: ", ") + "?"
            throw ProfileError(.unknownProfile, argument: nil,
                               "unknown profile '\(name)'\(hint) (known: \(known.joined(separator: ", ")))", suggestions: near)
        }
        return try profile.expand(arguments, vocabulary: vocabulary)
    }

    public func expand(_ arguments: [String: QueryLiteral] = [:],
                       vocabulary: [String: VocabularyEntry] = Vocabulary.byName) throws(ProfileError) -> ExpandedProfile {
        let values = try bind(arguments)
        var expanded: [ExpandedCondition] = []
        var skipped: [String] = []
        for condition in conditions {
            guard condition.applies.holds(values) else {
                skipped.append(condition.id)
                continue
            }
            let text = condition.text(with: values)
            do {
                expanded.append(ExpandedCondition(id: condition.id, text: text, expression: try QueryParser.parse(text, vocabulary: vocabulary)))
            } catch {
                throw ProfileError(.badTemplate, argument: nil, "profile \(name), condition \(condition.id): '\(text)' does not parse: \(error)")
            }
        }
        let parts = expanded.map(\.expression).flatMap { e -> [QueryExpr] in if case .and(let p) = e { p } else { [e] } }
        return ExpandedProfile(profile: name, arguments: values, conditions: expanded, skipped: skipped,
                               expression: parts.count == 1 ? parts[0] : .and(parts))
    }

    /// The arguments with defaults filled in, each checked for name, type and range.
    func bind(_ arguments: [String: QueryLiteral]) throws(ProfileError) -> [String: QueryLiteral] {
        var values: [String: QueryLiteral] = [:]
        for parameter in parameters { values[parameter.name] = parameter.defaultValue }
        for (key, value) in arguments.sorted(by: { $0.key < $1.key }) {
            guard let parameter = parameters.first(where: { $0.name == key }) else {
                let known = parameters.map(\.name)
                let near = NameSuggestions.nearest(key, in: known).filter(known.contains)
                let hint = near.isEmpty ? "" : "; did you mean " + near.joined(separator: ", ") + "?"
                throw ProfileError(.unknownParameter, argument: key,
                                   "profile \(name) has no parameter '\(key)'\(hint) (parameters: \(known.joined(separator: ", ")))", suggestions: near)
            }
            try parameter.check(value, profile: name)
            values[key] = value
        }
        return values
    }
}

/// One typed parameter of a profile: what the guest asks of the host.
public struct ProfileParameter: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case int, bool }

    public var name: String
    public var kind: Kind
    public var defaultValue: QueryLiteral
    /// Allowed values of an int parameter (nil for bool).
    public var range: ClosedRange<Int64>?
    public var summary: String

    public static func int(_ name: String, default value: Int64, range: ClosedRange<Int64>, _ summary: String) -> ProfileParameter {
        ProfileParameter(name: name, kind: .int, defaultValue: .int(value), range: range, summary: summary)
    }

    public static func bool(_ name: String, default value: Bool, _ summary: String) -> ProfileParameter {
        ProfileParameter(name: name, kind: .bool, defaultValue: .bool(value), range: nil, summary: summary)
    }

    func check(_ value: QueryLiteral, profile: String) throws(ProfileError) {
        switch (kind, value) {
        case (.bool, .bool):
            return
        case (.int, .int(let i)):
            if let range, !range.contains(i) {
                throw ProfileError(.outOfRange, argument: name,
                                   "\(profile): \(name) = \(i) is outside \(range.lowerBound)...\(range.upperBound)")
            }
        default:
            let expected = kind == .int ? "an integer" : "true or false"
            throw ProfileError(.wrongType, argument: name, "\(profile): \(name) is \(kind.rawValue): expected \(expected), found \(value)")
        }
    }
}

/// One condition: what it requires, the query it becomes, when it applies and who checks it where.
public struct ProfileCondition: Sendable, Hashable {
    /// Short and stable (`first-stage`): what explain output and docs refer to.
    public var id: String
    /// The condition in words, as the hypervisor or kernel states it.
    public var requirement: String
    /// Query-language text; `{param}` is replaced by that argument's literal.
    public var template: String
    public var applies: ProfileApplicability
    public var source: ProfileSource

    func text(with values: [String: QueryLiteral]) -> String {
        var text = template
        for (name, value) in values { text = text.replacingOccurrences(of: "{" + name + "}", with: value.description) }
        return text
    }
}

/// When a condition is part of the profile, decided from the arguments alone.
public enum ProfileApplicability: Sendable, Hashable, CustomStringConvertible {
    case always
    /// Only when this bool parameter is true (the guest asks for the feature).
    case whenTrue(String)
    /// Only when this int parameter is above the value (e.g. 5-level paging beyond 48 bits).
    case whenAbove(String, Int64)

    func holds(_ values: [String: QueryLiteral]) -> Bool {
        switch self {
        case .always: return true
        case .whenTrue(let name): return values[name] == .bool(true)
        case .whenAbove(let name, let limit):
            if case .int(let v)? = values[name] { return v > limit }
            return false
        }
    }

    public var description: String {
        switch self {
        case .always: return "always"
        case .whenTrue(let name): return "\(name) = true"
        case .whenAbove(let name, let limit): return "\(name) > \(limit)"
        }
    }
}

/// Where a condition comes from. `checkedBy` says whose check it is: the hypervisor's (QEMU), the host
/// kernel's, or neither (capreg's own conservative reading, said so in `note`).
public struct ProfileSource: Sendable, Hashable, CustomStringConvertible {
    public enum Checker: String, Sendable, Hashable { case qemu, kernel, capreg }

    public var checkedBy: Checker
    public var function: String
    public var file: String
    /// The tree and version read (repository and commit, or release), and what is unverified.
    public var version: String
    public var note: String

    public init(_ checkedBy: Checker, function: String, file: String, version: String, note: String = "") {
        self.checkedBy = checkedBy
        self.function = function
        self.file = file
        self.version = version
        self.note = note
    }

    public var description: String { "\(checkedBy.rawValue): \(function) in \(file) (\(version))" }
}

public struct ExpandedCondition: Sendable, Hashable {
    public var id: String
    /// The template with the arguments substituted.
    public var text: String
    public var expression: QueryExpr
}

public struct ExpandedProfile: Sendable, Hashable {
    public var profile: String
    /// Every parameter's value, defaults included.
    public var arguments: [String: QueryLiteral]
    /// The applicable conditions, in profile order.
    public var conditions: [ExpandedCondition]
    /// Ids of the conditions the arguments made inapplicable.
    public var skipped: [String]
    /// The conjunction of `conditions` (flat `and`): a host matches only when every one is true.
    public var expression: QueryExpr
}

/// Why a profile call was refused. `argument` names the parameter at fault (nil: the profile name), so
/// the caller can point at it; `queryError(at:)` gives the query language's error for that position.
public struct ProfileError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable { case unknownProfile, unknownParameter, wrongType, outOfRange, badTemplate }

    public var kind: Kind
    public var argument: String?
    public var message: String
    public var suggestions: [String]

    public init(_ kind: Kind, argument: String?, _ message: String, suggestions: [String] = []) {
        self.kind = kind
        self.argument = argument
        self.message = message
        self.suggestions = suggestions
    }

    public var description: String { message }

    public func queryError(at position: Int) -> QueryError {
        let mapped: QueryError.Kind
        switch kind {
        case .unknownProfile, .unknownParameter: mapped = .unknownName
        case .wrongType, .outOfRange: mapped = .type
        case .badTemplate: mapped = .syntax
        }
        return QueryError(mapped, at: position, message, suggestions: suggestions)
    }
}
