import Decoders
import JSONText
import Query

/// Explain's reasons in answers: `[{"predicate","outcome","term","value","message","condition"}]`.
enum ExplainJSON {
    static func write(_ reasons: [QueryReason], into out: inout JSONWriter) {
        out.arrayStart()
        for reason in reasons {
            out.objectStart()
            out.key("predicate")
            out.string(reason.predicate)
            out.key("outcome")
            out.string(reason.outcome.rawValue)
            out.key("term")
            out.string(reason.term.description)
            out.key("value")
            switch reason.value {
            case nil: out.null()
            case .bool(let b)?: out.bool(b)
            case .int(let i)?: out.int(i)
            case .text(let s)?: out.string(s)
            }
            out.key("message")
            out.string(reason.message)
            out.key("condition")
            out.string(reason.condition)
            out.objectEnd()
        }
        out.arrayEnd()
    }
}
