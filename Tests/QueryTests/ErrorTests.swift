import Query
import Testing

/// Refusals carry the 0-based character position, what was expected, and for unknown names the nearest ones.
@Suite struct ErrorTests {
    func error(_ text: String, limits: QueryLimits = .default) -> QueryError? {
        do {
            _ = try QueryParser.parse(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func missingValueAtEnd() throws {
        let e = try #require(error("pasid_bind and pasid_bits >="))
        #expect(e.kind == .syntax)
        #expect(e.description == "at 28: expected a value after '>=', found end of input")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var kind: QueryError.Kind
        var position: Int
        var mentions: String
        var testDescription: String { text }
    }

    static let cases: [Case] = [
        Case(text: "", kind: .syntax, position: 0, mentions: "expected a name, 'not', 'known(', 'covers(', 'devices(', 'profile(' or '(', found end of input"),
        Case(text: "nesting and", kind: .syntax, position: 11, mentions: "after 'and', found end of input"),
        Case(text: "nesting or or pasid_bind", kind: .syntax, position: 11, mentions: "found 'or'"),
        Case(text: "(nesting", kind: .syntax, position: 8, mentions: "expected ')' to close the '(' at 0"),
        Case(text: "nesting)", kind: .syntax, position: 7, mentions: "unbalanced ')'"),
        Case(text: "nesting pasid_bind", kind: .syntax, position: 8, mentions: "expected an operator"),
        Case(text: "pasid_bits = = 3", kind: .syntax, position: 13, mentions: "expected a value after '=', found '='"),
        Case(text: #"iommu.vendor = "intel"#, kind: .syntax, position: 15, mentions: "unterminated string"),
        Case(text: "pasid_bits > 20abc", kind: .syntax, position: 13, mentions: "malformed number '20abc'"),
        Case(text: "kernel >= 5.10", kind: .syntax, position: 10, mentions: #"kernel versions are quoted: "5.10""#),
        Case(text: "pasid_bits > 99999999999999999999", kind: .syntax, position: 13, mentions: "outside the signed 64-bit range"),
        Case(text: "nesting # x", kind: .syntax, position: 8, mentions: "unexpected character '#'"),
        Case(text: "! nesting", kind: .syntax, position: 0, mentions: "write 'not'"),
        Case(text: "pasid_bits in (1,)", kind: .syntax, position: 17, mentions: "expected a value after ','"),
        Case(text: "pasid_bits in (1 2)", kind: .syntax, position: 17, mentions: "expected ',' or ')'"),
        Case(text: "known(20)", kind: .syntax, position: 6, mentions: "expected a name inside known()"),
        Case(text: "has(20)", kind: .syntax, position: 4, mentions: "expected a name inside has()"),
        Case(text: "label. = \"x\"", kind: .syntax, position: 6, mentions: "expected a label key after 'label.'"),
        // Types.
        Case(text: #"pasid_bits >= "20""#, kind: .type, position: 14, mentions: #"pasid_bits is int: expected an integer, found "20""#),
        Case(text: "first_level.format = 3", kind: .type, position: 21, mentions: "expected a quoted string"),
        Case(text: "vtd.ecap.ers = 1", kind: .type, position: 15, mentions: "expected true or false"),
        Case(text: "vtd.ecap.ers < true", kind: .type, position: 13, mentions: "'<' orders values, but vtd.ecap.ers is bool"),
        Case(text: #"label.rack > "r1""#, kind: .type, position: 11, mentions: "use =, != or in"),
        Case(text: "pasid_bits and nesting", kind: .type, position: 0, mentions: "pasid_bits is int: compare it (e.g. pasid_bits >= 20) or test known(pasid_bits)"),
        Case(text: "kernel", kind: .type, position: 0, mentions: "compare it, e.g. kernel >="),
        Case(text: #"kernel >= "linux""#, kind: .type, position: 10, mentions: "expected a kernel version"),
        Case(text: "kernel >= 5", kind: .type, position: 10, mentions: "expected a quoted kernel version"),
        Case(text: #"pasid_bits in (1, "2")"#, kind: .type, position: 18, mentions: "expected an integer"),
    ]

    @Test(arguments: cases) func refused(_ c: Case) throws {
        let e = try #require(error(c.text))
        #expect(e.kind == c.kind, "\(e)")
        #expect(e.position == c.position, "\(e)")
        #expect(e.message.contains(c.mentions), "\(e)")
    }

    @Test func unknownNameSuggestsNearest() throws {
        let e = try #require(error("pasid_bind and pasid_bitz >= 20"))
        #expect(e.kind == .unknownName)
        #expect(e.position == 15)
        #expect(e.suggestions.first == "pasid_bits")
        #expect(e.suggestions.count <= 3)
        #expect(e.message.contains("did you mean pasid_bits"))
    }

    @Test func suggestionsReachKernelLabelsAndLastComponents() throws {
        #expect(try #require(error(#"kernal >= "5.10""#)).suggestions.first == "kernel")
        #expect(try #require(error(#"lable.rack = "r1""#)).suggestions.first == "label.rack")
        #expect(try #require(error("ers")).suggestions.contains("vtd.ecap.ers"))
        #expect(try #require(error("has(vtd.ecap.nets)")).suggestions.first == "vtd.ecap.nest")
        let far = try #require(error("zzzzzzzzzzzz"))
        #expect(far.suggestions.isEmpty && far.message.contains("capreg vocabulary"))
    }

    @Test func caretPointsAtPosition() throws {
        let text = "pasid_bind and pasid_bitz >= 20"
        let e = try #require(error(text))
        #expect(e.pointing(into: text) == text + "\n" + String(repeating: " ", count: 15) + "^")
    }

    @Test func lengthLimit() throws {
        let long = Array(repeating: "nesting", count: 600).joined(separator: " and ")  // > 4 KiB
        let e = try #require(error(long))
        #expect(e.kind == .tooLong && e.position == 0 && e.message.contains("limit is 4096"))
        #expect(error(long, limits: QueryLimits(maxLength: 1 << 20)) == nil)
    }

    @Test func depthLimitWithoutStackOverflow() throws {
        let deep = String(repeating: "(", count: 2000) + "nesting" + String(repeating: ")", count: 2000)
        let e = try #require(error(deep, limits: QueryLimits(maxLength: 1 << 20)))
        #expect(e.kind == .tooDeep && e.position == 64)
        let nots = String(repeating: "not ", count: 65) + "nesting"
        #expect(try #require(error(nots)).kind == .tooDeep)
        #expect(error(String(repeating: "not ", count: 64) + "nesting") == nil)
        #expect(error(String(repeating: "(", count: 64) + "nesting" + String(repeating: ")", count: 64)) == nil)
        // Only open ones count: many groups in sequence are fine.
        #expect(error(Array(repeating: "(nesting)", count: 300).joined(separator: " or ")) == nil)
    }
}
