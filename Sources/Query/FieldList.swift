import Decoders

/// `fields=` (GET /v1/hosts, /ui/query) and `capreg query --fields`: one parser for both, so the same
/// list means the same thing everywhere.
extension QueryParser {
    /// Names every host answer carries whatever `fields` says (hostname, reported_at, age_seconds; kernel
    /// is a term too and every table shows it). Asking for them is accepted and changes nothing: a user
    /// who names what they see in an answer must not get a 400.
    public static let alwaysPresentFields: Set<String> = ["hostname", "kernel", "reported_at", "age_seconds"]

    /// A comma-separated list of names as in an expression (vocabulary facts, `kernel`, `label.KEY`) or
    /// `alwaysPresentFields`; empty items skipped, repeats once. Unknown names are refused at their
    /// position with the nearest names, as in an expression. The always-present names other than
    /// `kernel` are dropped from the result: they select nothing.
    public static func fields(_ text: String, vocabulary: [String: VocabularyEntry] = Vocabulary.byName) throws(QueryError) -> [QueryTerm] {
        var out: [QueryTerm] = []
        var offset = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
            let leading = part.prefix(while: blank).count
            let name = String(part.dropFirst(leading).reversed().drop(while: blank).reversed())
            let at = offset + leading
            offset += part.count + 1
            if name.isEmpty || (name != "kernel" && alwaysPresentFields.contains(name)) { continue }
            let term = try term(name, at: at, vocabulary: vocabulary)
            if !out.contains(term) { out.append(term) }
        }
        return out
    }
}
