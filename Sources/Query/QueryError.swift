/// Why an expression was refused: where (0-based character offset into the expression) and what was
/// expected. `description` is the one-line form (`at 23: expected a value after '>=', found end of input`).
public struct QueryError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// Not well formed: a token where another was expected.
        case syntax
        /// A name that is neither in the vocabulary nor `kernel` nor `label.KEY`; see `suggestions`.
        case unknownName
        /// A well-formed predicate whose operator or value does not fit the term's type.
        case type
        /// The expression is longer than `QueryLimits.maxLength` (UTF-8 bytes), or an `in` list has more
        /// entries than `QueryLimits.maxListEntries`.
        case tooLong
        /// Parentheses and `not` nest deeper than `QueryLimits.maxDepth`.
        case tooDeep
    }

    public var kind: Kind
    /// Character offset (0-based) of the offending token.
    public var position: Int
    public var message: String
    /// Nearest known names for `.unknownName`, best first (at most 3).
    public var suggestions: [String]

    public init(_ kind: Kind, at position: Int, _ message: String, suggestions: [String] = []) {
        self.kind = kind
        self.position = position
        self.message = message
        self.suggestions = suggestions
    }

    public var description: String { "at \(position): \(message)" }

    /// The expression on one line and a caret under the offending character on the next (control
    /// characters are shown as spaces so that the caret stays aligned).
    public func pointing(into expression: String) -> String {
        let line = String(expression.map { $0.isNewline || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false) ? " " : $0 })
        return line + "\n" + String(repeating: " ", count: max(0, position)) + "^"
    }
}

/// Bounds on what the parser accepts, so that hostile input costs little and cannot exhaust the stack.
public struct QueryLimits: Hashable, Sendable {
    /// Longest expression, in UTF-8 bytes.
    public var maxLength: Int
    /// Deepest nesting of parentheses and `not`.
    public var maxDepth: Int
    /// Most entries of one `in (…)` list. The store checks a list as one set (one bound JSON array), so a
    /// long list costs little there; the bound keeps the reference evaluator's and explain's per-host work,
    /// and the text an answer echoes, small. Each entry's length is bounded by `maxLength`.
    public var maxListEntries: Int

    public init(maxLength: Int = 4096, maxDepth: Int = 64, maxListEntries: Int = 256) {
        self.maxLength = maxLength
        self.maxDepth = maxDepth
        self.maxListEntries = maxListEntries
    }

    public static let `default` = QueryLimits()
}
