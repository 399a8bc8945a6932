import Foundation
import Report

/// Reads reports from JSON text: one object, an array of objects, or JSON Lines. Every error names
/// the file and line where the bad report starts; nothing here crashes on malformed input.
struct ReportReader {
    struct Located {
        var report: Report
        var location: String
    }

    struct Failure: Error, CustomStringConvertible {
        var location: String
        var message: String
        var description: String { "\(location): \(message)" }
    }

    /// Parses a whole file's text; `name` is used in locations (`reports.jsonl:12`).
    static func parse(_ text: String, name: String, maxClockSkew: TimeInterval) -> [Result<Located, Failure>] {
        let trimmed = text.drop { $0.isWhitespace }
        if trimmed.first == "[" {
            guard let elements = topLevelElements(text) else {
                return [.failure(Failure(location: "\(name):1", message: "an array that is not closed or not well formed"))]
            }
            return elements.map { decode($0.text, location: "\(name):\($0.line)", maxClockSkew: maxClockSkew) }
        }
        // One object, possibly over many lines, or one object per line.
        if let object = topLevelElements("[" + text + "]"), object.count == 1 {
            return [decode(object[0].text, location: "\(name):\(object[0].line)", maxClockSkew: maxClockSkew)]
        }
        var out: [Result<Located, Failure>] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0.isWhitespace }) { continue }
            out.append(decode(Substring(line), location: "\(name):\(index + 1)", maxClockSkew: maxClockSkew))
        }
        return out
    }

    /// One report through the one report decoder (Report.decode: the same checks and words as
    /// POST /v1/reports, with the same clock bound); a refusal reads `file:line: field: problem`.
    /// The clock is read here, as each report is decoded (a stream on standard input may run for days).
    static func decode(_ text: Substring, location: String, maxClockSkew: TimeInterval) -> Result<Located, Failure> {
        do {
            let clock = ClockBound(now: Date(), maxSkew: maxClockSkew)
            return .success(Located(report: try Report.decode(json: Data(text.utf8), clock: clock), location: location))
        } catch {
            return .failure(Failure(location: location, message: error.description))
        }
    }

    /// The elements of a top-level JSON array with the line each starts on, found by tracking nesting
    /// and strings (the elements themselves are parsed later); nil when the array is not closed.
    static func topLevelElements(_ text: String) -> [(text: Substring, line: Int)]? {
        var elements: [(Substring, Int)] = []
        var depth = 0, line = 1, inString = false, escaped = false
        var start: String.Index? = nil
        var startLine = 1
        var closed = false
        var ended = false  // an element at depth 1 is complete: only `,` or `]` may follow
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "\n" { line += 1 }
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if depth == 1 && ended && c != "," && c != "]" && !c.isWhitespace {
                return nil
            } else if c == "\"" {
                inString = true
                if depth == 1 && start == nil { start = i; startLine = line }
            } else if c == "[" || c == "{" {
                if depth == 1 && start == nil { start = i; startLine = line }
                depth += 1
            } else if c == "]" || c == "}" {
                depth -= 1
                if depth == 1 { ended = true }
                if depth == 0 {
                    if let s = start { elements.append((text[s..<i], startLine)) }
                    closed = true
                    i = text.index(after: i)
                    break
                }
            } else if c == "," && depth == 1 {
                if let s = start { elements.append((text[s..<i], startLine)) }
                start = nil
                ended = false
            } else if depth == 1 && start == nil && !c.isWhitespace {
                start = i; startLine = line
            }
            if depth < 0 { return nil }
            i = text.index(after: i)
        }
        guard closed, text[i...].allSatisfy({ $0.isWhitespace }) else { return nil }
        return elements
    }
}
