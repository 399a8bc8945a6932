/// Nearest known names for a mistyped one, by edit distance over the vocabulary, `kernel` and `label.*`.
enum NameSuggestions {
    /// Longer names than this get no suggestions (bounded work on hostile input).
    static let maxNameLength = 80

    /// Up to `count` names, best first. A name without a dot is also measured against the last
    /// component of each dotted name (`ers` finds `vtd.ecap.ers`), at one edit more.
    static func nearest(_ name: String, in vocabulary: some Sequence<String>, count: Int = 3) -> [String] {
        guard name.count <= maxNameLength else { return [] }
        let typed = Array(name.lowercased())
        var candidates = Array(vocabulary) + ["kernel"]
        if let dot = name.firstIndex(of: "."), dot != name.startIndex {
            candidates.append("label" + name[dot...])  // `lable.rack`, `labels.rack` → `label.rack`
        }
        let threshold = max(2, typed.count / 3)
        var scored: [(distance: Int, name: String)] = []
        for candidate in Set(candidates) {
            var d = distance(typed, Array(candidate))
            if !name.contains("."), let last = candidate.split(separator: ".").last, last.count != candidate.count {
                d = min(d, distance(typed, Array(last)) + 1)
            }
            if d <= threshold { scored.append((d, candidate)) }
        }
        return scored.sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }.prefix(count).map(\.name)
    }

    /// Edit distance counting insertions, deletions, substitutions and adjacent transpositions (`nets` → `nest`)
    /// as one edit each (optimal string alignment).
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
