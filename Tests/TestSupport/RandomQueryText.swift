/// Random query-language text: `not`, `and`, `or` and parentheses, nested up to four deep, around the
/// conforming generator's own predicates. Property tests pin their cases to the order of `dice` draws
/// made here, so keep it.
public protocol RandomQueryText {
    var dice: Dice { get set }
    mutating func predicate() -> String
}

extension RandomQueryText {
    public mutating func expression(depth: Int = 0) -> String {
        if depth >= 4 || dice.chance(35) { return predicate() }
        switch dice.below(4) {
        case 0: return "not " + expression(depth: depth + 1)
        case 1: return "(" + expression(depth: depth + 1) + ")"
        case 2: return expression(depth: depth + 1) + " and " + expression(depth: depth + 1)
        default: return "(" + expression(depth: depth + 1) + " or " + expression(depth: depth + 1) + ")"
        }
    }
}
