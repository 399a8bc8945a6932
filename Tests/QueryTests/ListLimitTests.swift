import Query
import Testing

/// An `in` list is bounded (QueryLimits.maxListEntries): past it the parser refuses the expression,
/// naming the limit, before any store sees it.
@Suite struct ListLimitTests {
    static func list(_ count: Int) -> String {
        (0..<count).map { "\"6.\($0)\"" }.joined(separator: ",")
    }

    @Test func aListPastTheLimitIsRefusedNamingIt() {
        let limit = QueryLimits.default.maxListEntries
        #expect(limit == 256)
        // 257 distinct series, and the issue's 1,000 copies of "6" (4,000 bytes: under the length bound).
        for list in [Self.list(limit + 1), Array(repeating: "\"6\"", count: 1000).joined(separator: ",")] {
            let text = "kernel in (\(list))"
            #expect(text.utf8.count <= QueryLimits.default.maxLength, "the list alone, not the length bound, refuses it")
            do {
                _ = try QueryParser.parse(text)
                Issue.record("\(text.prefix(40))… was accepted")
            } catch {
                #expect(error.kind == .tooLong)
                #expect(error.message.contains("more than 256 entries; the limit is 256"), "\(error.message)")
                // The caret points at the first entry past the limit.
                let entries: [Substring] = list.split(separator: ",")
                let before: Int = entries.prefix(limit).reduce(0) { $0 + $1.count + 1 }
                #expect(error.position == "kernel in (".count + before, "\(error.pointing(into: text).suffix(40))")
            }
        }
        let notIn = "label.rack not in (" + (0...limit).map { "\"r\($0)\"" }.joined(separator: ",") + ")"
        #expect(throws: QueryError.self) { try QueryParser.parse(notIn) }
    }

    @Test func aListAtTheLimitParses() throws {
        let expr = try QueryParser.parse("kernel in (\(Self.list(256)))")
        guard case .oneOf(.kernel, let values) = expr else { Issue.record("\(expr)"); return }
        #expect(values.count == 256)
    }
}
