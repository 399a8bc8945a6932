/// Argument marks for statements whose length varies with their input.
enum SQLPlaceholders {
    /// `(?,?,…)` with `n` marks: an IN list, or a row of VALUES.
    static func list(_ n: Int) -> String { "(" + Array(repeating: "?", count: n).joined(separator: ",") + ")" }
}
