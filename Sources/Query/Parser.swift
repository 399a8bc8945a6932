import Decoders

/// Recursive-descent parser and type checker for capreg's query language (grammar in docs/queries.md):
///
///     expr    := and ("or" and)*
///     and     := unary ("and" unary)*
///     unary   := "not" unary | primary
///     primary := "(" expr ")" | ("known" | "has") "(" NAME ")" | profile
///              | "covers" "(" NAME "," INT ")"
///              | "devices" "(" expr ")" [ OP INT ]      -- inside: device.* names only; no OP: >= 1
///              | NAME [ OP value | ["not"] "in" "(" value ("," value)* ")" ]
///     profile := "profile" "(" STRING ("," NAME "=" value)* ")"
///     value   := STRING | INT | "true" | "false"
///
/// Precedence: not > and > or. Recursion happens only through "(", "not" and "profile(", all counted
/// against `QueryLimits.maxDepth`, so no input can exhaust the stack.
public struct QueryParser {
    let tokens: [Token]
    let limits: QueryLimits
    var vocabulary: [String: VocabularyEntry]
    /// Inside `devices(…)`: the names are a device's (Vocabulary.deviceByName).
    var inDevices = false
    var index = 0
    var depth = 0

    /// Parses and type-checks `text` against the vocabulary.
    public static func parse(_ text: String, limits: QueryLimits = .default,
                             vocabulary: [String: VocabularyEntry] = Vocabulary.byName) throws(QueryError) -> QueryExpr {
        let length = text.utf8.count
        guard length <= limits.maxLength else {
            throw QueryError(.tooLong, at: 0, "expression is \(length) bytes long; the limit is \(limits.maxLength)")
        }
        var parser = QueryParser(tokens: try Lexer.tokens(text), limits: limits, vocabulary: vocabulary)
        let expr = try parser.orExpr()
        let rest = parser.peek
        guard case .end = rest.kind else {
            if case .rparen = rest.kind { throw QueryError(.syntax, at: rest.position, "unbalanced ')': no '(' is open here") }
            throw QueryError(.syntax, at: rest.position, "expected 'and', 'or' or end of input, found \(rest.shown)")
        }
        return expr
    }

    /// Resolves a name as a query term would (vocabulary fact, `kernel`, `label.KEY`), e.g. for --fields.
    public static func term(_ name: String, at position: Int = 0,
                            vocabulary: [String: VocabularyEntry] = Vocabulary.byName) throws(QueryError) -> QueryTerm {
        if name == "kernel" { return .kernel }
        if name.hasPrefix("label.") {
            let key = String(name.dropFirst("label.".count))
            guard !key.isEmpty else { throw QueryError(.syntax, at: position + name.count, "expected a label key after 'label.'") }
            return .label(key)
        }
        if let entry = vocabulary[name] { return .fact(name, entry.type) }
        if vocabulary[PCIDevice.hostCount] != nil, Vocabulary.deviceByName[name] != nil {
            throw QueryError(.unknownName, at: position, "'\(name)' is a fact of one PCI device, not of the host: ask devices(\(name) …) >= N, e.g. devices(device.pasid.bits >= 20) >= 2")
        }
        let near = NameSuggestions.nearest(name, in: vocabulary.keys)
        let hint = near.isEmpty ? "; `capreg vocabulary` lists the names" : "; did you mean " + near.joined(separator: ", ") + "?"
        throw QueryError(.unknownName, at: position, "unknown name '\(name)'" + hint, suggestions: near)
    }

    var peek: Token { tokens[index] }

    mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    func isKeyword(_ keyword: Token.Keyword, _ token: Token? = nil) -> Bool {
        if case .keyword(let k) = (token ?? peek).kind { return k == keyword }
        return false
    }

    mutating func orExpr() throws(QueryError) -> QueryExpr {
        var parts = [try andExpr()]
        while isKeyword(.or) {
            let or = advance()
            parts.append(try andExpr(after: or))
        }
        return parts.count == 1 ? parts[0] : .or(parts.flatMap { if case .or(let p) = $0 { p } else { [$0] } })
    }

    mutating func andExpr(after previous: Token? = nil) throws(QueryError) -> QueryExpr {
        var parts = [try unary(after: previous)]
        while isKeyword(.and) {
            let and = advance()
            parts.append(try unary(after: and))
        }
        return parts.count == 1 ? parts[0] : .and(parts.flatMap { if case .and(let p) = $0 { p } else { [$0] } })
    }

    mutating func enter(_ token: Token) throws(QueryError) {
        depth += 1
        guard depth <= limits.maxDepth else {
            throw QueryError(.tooDeep, at: token.position, "expression nests deeper than \(limits.maxDepth) levels of parentheses and 'not'")
        }
    }

    mutating func unary(after previous: Token?) throws(QueryError) -> QueryExpr {
        guard isKeyword(.not) else { return try primary(after: previous) }
        let not = advance()
        try enter(not)
        defer { depth -= 1 }
        return .not(try unary(after: not))
    }

    mutating func primary(after previous: Token?) throws(QueryError) -> QueryExpr {
        let token = peek
        switch token.kind {
        case .lparen:
            _ = advance()
            try enter(token)
            defer { depth -= 1 }
            let inner = try orExpr()
            try expect(.rparen, "')' to close the '(' at \(token.position)")
            return inner
        case .keyword(.known), .keyword(.has):
            _ = advance()
            let keyword = token.text.lowercased()
            try expect(.lparen, "'(' after '\(keyword)'")
            let name = advance()
            guard case .name(let text) = name.kind else {
                throw QueryError(.syntax, at: name.position, "expected a name inside \(keyword)(), found \(name.shown)")
            }
            let term = try deviceChecked(QueryParser.term(text, at: name.position, vocabulary: vocabulary), at: name.position)
            try expect(.rparen, "')' after \(keyword)(\(text)")
            return .has(term)
        case .keyword(.covers):
            _ = advance()
            return try coversCall()
        case .keyword(.devices):
            _ = advance()
            try enter(token)
            defer { depth -= 1 }
            return try devicesCall(token)
        case .keyword(.profile):
            guard !inDevices else { throw QueryError(.syntax, at: token.position, "profile() is about a host; inside devices(…) only device.* names are asked") }
            _ = advance()
            try enter(token)
            defer { depth -= 1 }
            return try profileCall()
        case .name(let text):
            _ = advance()
            return try predicate(deviceChecked(QueryParser.term(text, at: token.position, vocabulary: vocabulary), at: token.position), name: token)
        default:
            let after = previous.map { " after '\($0.text)'" } ?? ""
            throw QueryError(.syntax, at: token.position, "expected a name, 'not', 'known(', 'covers(', 'devices(', 'profile(' or '('\(after), found \(token.shown)")
        }
    }

    /// Inside devices(…) a term must be a device's fact: the kernel and labels are the host's.
    func deviceChecked(_ term: QueryTerm, at position: Int) throws(QueryError) -> QueryTerm {
        guard inDevices, !(term.isFact) else { return term }
        throw QueryError(.syntax, at: position, "\(term) is the host's; inside devices(…) only device.* names are asked (put it outside: devices(…) >= 1 and \(term) …)")
    }

    /// `devices(EXPR) OP COUNT`, `devices` already consumed: EXPR over device.* names, COUNT a
    /// non-negative integer; without OP and COUNT, `>= 1` (some device).
    mutating func devicesCall(_ keyword: Token) throws(QueryError) -> QueryExpr {
        guard !inDevices else { throw QueryError(.syntax, at: keyword.position, "devices(…) cannot be nested: inside it, each name is one device's") }
        try expect(.lparen, "'(' after 'devices', e.g. devices(device.pasid.bits >= 20) >= 2")
        let saved = vocabulary
        vocabulary = Vocabulary.deviceByName
        inDevices = true
        let inner = try orExpr()
        vocabulary = saved
        inDevices = false
        try expect(.rparen, "')' to close devices(")
        guard case .op(let op) = peek.kind else { return .devices(inner, .ge, 1) }
        let opToken = advance()
        let value = advance()
        guard case .int(let count) = value.kind, count >= 0 else {
            throw QueryError(.type, at: value.position, "devices(…) \(opToken.text) compares a count of devices: expected a whole number >= 0, found \(value.shown)")
        }
        return .devices(inner, op, count)
    }

    /// `covers(NAME, ADDRESS)`, `covers` already consumed: NAME must be an IOVA window list, ADDRESS a
    /// non-negative integer (decimal or 0x hex).
    mutating func coversCall() throws(QueryError) -> QueryExpr {
        try expect(.lparen, "'(' after 'covers'")
        let name = advance()
        guard case .name(let text) = name.kind else {
            throw QueryError(.syntax, at: name.position, "expected a name inside covers(), e.g. covers(vfio.iova_windows, 0xfee00000), found \(name.shown)")
        }
        let term = try QueryParser.term(text, at: name.position, vocabulary: vocabulary)
        guard case .fact(let fact, .text) = term, Vocabulary.windowLists.contains(fact) else {
            let lists = Vocabulary.windowLists.sorted().joined(separator: ", ")
            throw QueryError(.type, at: name.position, "covers() reads a list of IOVA windows (\(lists)); \(term) is \(QueryParser.typeName(term)) and not one")
        }
        try expect(.comma, "',' and an address after covers(\(text)")
        let value = advance()
        guard case .int(let address) = value.kind else {
            throw QueryError(.syntax, at: value.position, "expected an address (an integer such as 0xfee00000) in covers(), found \(value.shown)")
        }
        guard address >= 0 else {
            throw QueryError(.type, at: value.position, "address \(value.text) in covers() is negative; addresses are 0 to 0x7fffffffffffffff")
        }
        try expect(.rparen, "')' after the address in covers()")
        return .covers(term, address)
    }

    mutating func expect(_ kind: Token.Kind, _ what: String) throws(QueryError) {
        let token = peek
        guard token.kind == kind else { throw QueryError(.syntax, at: token.position, "expected \(what), found \(token.shown)") }
        _ = advance()
    }

    /// What follows a name: an operator and a value, `in (…)`, `not in (…)`, or nothing (a bare boolean).
    mutating func predicate(_ term: QueryTerm, name: Token) throws(QueryError) -> QueryExpr {
        let next = peek
        switch next.kind {
        case .op(let op):
            _ = advance()
            try checkOperator(op, on: term, at: next.position)
            let value = try literal(for: term, after: next)
            return .compare(term, op, value)
        case .keyword(.in):
            _ = advance()
            return .oneOf(term, try list(for: term))
        case .keyword(.not) where isKeyword(.in, tokens[min(index + 1, tokens.count - 1)]):
            _ = advance()
            _ = advance()
            return .not(.oneOf(term, try list(for: term)))
        case .keyword(.and), .keyword(.or), .rparen, .end:
            guard case .fact(let fact, .bool) = term else {
                throw QueryError(.type, at: name.position, "\(term) is \(QueryParser.typeName(term)): " + QueryParser.usage(term))
            }
            return .compare(.fact(fact, .bool), .eq, .bool(true))
        default:
            throw QueryError(.syntax, at: next.position,
                             "expected an operator (= != < <= > >= in) or 'and', 'or', ')' after '\(name.text)', found \(next.shown)")
        }
    }

    mutating func list(for term: QueryTerm) throws(QueryError) -> [QueryLiteral] {
        try expect(.lparen, "'(' after 'in'")
        var values: [QueryLiteral] = []
        var previous = tokens[index - 1]
        while true {
            let entry = peek
            guard values.count < limits.maxListEntries else {
                throw QueryError(.tooLong, at: entry.position,
                                 "the 'in' list has more than \(limits.maxListEntries) entries; the limit is \(limits.maxListEntries) (split the question, or use a range such as kernel >= \"6.1\")")
            }
            values.append(try literal(for: term, after: previous))
            let next = peek
            if case .comma = next.kind { previous = advance(); continue }
            if case .rparen = next.kind { _ = advance(); return values }
            throw QueryError(.syntax, at: next.position, "expected ',' or ')' in the 'in' list, found \(next.shown)")
        }
    }

    func checkOperator(_ op: QueryOp, on term: QueryTerm, at position: Int) throws(QueryError) {
        guard op.isOrdering else { return }
        switch term {
        case .fact(_, .int), .kernel: return
        default:
            throw QueryError(.type, at: position, "'\(op.rawValue)' orders values, but \(term) is \(QueryParser.typeName(term)): use =, != or in")
        }
    }

    mutating func literal(for term: QueryTerm, after previous: Token) throws(QueryError) -> QueryLiteral {
        let token = advance()
        let found: QueryLiteral
        switch token.kind {
        case .string(let s): found = .text(s)
        case .int(let i): found = .int(i)
        case .keyword(.true): found = .bool(true)
        case .keyword(.false): found = .bool(false)
        default:
            throw QueryError(.syntax, at: token.position, "expected a value after '\(previous.text)', found \(token.shown)")
        }
        switch (term, found) {
        case (.fact(_, .bool), .bool), (.fact(_, .int), .int), (.fact(_, .text), .text), (.label, .text):
            return found
        case (.kernel, .text(let s)):
            switch KernelVersion.parse(s) {
            case .success(let version): return .kernel(version)
            case .failure(let error): throw QueryError(.type, at: token.position, "expected \(error.message), found \(token.shown)")
            }
        default:
            throw QueryError(.type, at: token.position,
                             "\(term) is \(QueryParser.typeName(term)): expected \(QueryParser.valueName(term)), found \(token.shown)")
        }
    }

    static func typeName(_ term: QueryTerm) -> String {
        switch term {
        case .fact(_, let type): return type.rawValue
        case .kernel: return "a kernel version"
        case .label: return "a label (text)"
        }
    }

    static func valueName(_ term: QueryTerm) -> String {
        switch term {
        case .fact(_, .bool): return "true or false"
        case .fact(_, .int): return "an integer"
        case .fact(_, .text), .label: return "a quoted string"
        case .kernel: return "a quoted kernel version such as \"5.10\""
        }
    }

    static func usage(_ term: QueryTerm) -> String {
        switch term {
        case .fact(let name, .int): return "compare it (e.g. \(name) >= 20) or test known(\(name))"
        case .fact(let name, _): return "compare it (e.g. \(name) = \"…\") or test known(\(name))"
        case .kernel: return "compare it, e.g. kernel >= \"5.10\""
        case .label: return "compare it (e.g. \(term) = \"r12\") or test known(\(term))"
        }
    }
}
