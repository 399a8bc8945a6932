/// `profile("vtd-nested", aw_bits=48, pasid_bits=20)`: a compatibility profile (docs/profiles.md) used
/// as a predicate. It expands, at parse time, to its applicable conditions, each kept as a named group
/// so that explain can say which condition a host failed.
extension QueryParser {
    /// Parses the rest of a call, `profile` already consumed, and expands it.
    mutating func profileCall() throws(QueryError) -> QueryExpr {
        try expect(.lparen, "'(' after 'profile'")
        let nameToken = advance()
        guard case .string(let name) = nameToken.kind else {
            throw QueryError(.syntax, at: nameToken.position,
                             "expected a quoted profile name inside profile(), e.g. profile(\"vtd-nested\"), found \(nameToken.shown)")
        }
        var arguments: [String: QueryLiteral] = [:]
        // Where each argument was written: its name (unknown parameter) and its value (wrong type, range).
        var names: [String: Int] = [:]
        var values: [String: Int] = [:]
        while case .comma = peek.kind {
            _ = advance()
            let parameter = advance()
            guard case .name(let key) = parameter.kind else {
                throw QueryError(.syntax, at: parameter.position, "expected a parameter name after ',' in profile(), found \(parameter.shown)")
            }
            guard arguments[key] == nil else {
                throw QueryError(.syntax, at: parameter.position, "parameter '\(key)' is given twice")
            }
            try expect(.op(.eq), "'=' after '\(key)'")
            let value = advance()
            switch value.kind {
            case .int(let i): arguments[key] = .int(i)
            case .keyword(.true): arguments[key] = .bool(true)
            case .keyword(.false): arguments[key] = .bool(false)
            case .string(let s): arguments[key] = .text(s)  // never a valid argument, but the profile says why
            default: throw QueryError(.syntax, at: value.position, "expected a value after '\(key)=', found \(value.shown)")
            }
            names[key] = parameter.position
            values[key] = value.position
        }
        let close = peek
        guard case .rparen = close.kind else {
            throw QueryError(.syntax, at: close.position, "expected ',' or ')' in profile(), found \(close.shown)")
        }
        _ = advance()

        let expanded: ExpandedProfile
        do {
            expanded = try CompatibilityProfile.expand(name, arguments: arguments, vocabulary: vocabulary)
        } catch {
            let position: Int?
            switch error.kind {
            case .unknownParameter: position = error.argument.flatMap { names[$0] }
            case .wrongType, .outOfRange: position = error.argument.flatMap { values[$0] }
            case .unknownProfile, .badTemplate: position = nil
            }
            throw error.queryError(at: position ?? nameToken.position)
        }
        let conditions = expanded.conditions.map { QueryExpr.named($0.id, $0.expression) }
        return .named(expanded.profile, conditions.count == 1 ? conditions[0] : .and(conditions))
    }
}
