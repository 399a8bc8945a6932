@testable import API
import Query
import Testing

/// Requests' expressions and field lists are parsed once and kept: a kept parse is the parse, errors are
/// made again each time, and the cache stays within its capacity.
@Suite struct ParseCacheTests {
    @Test func aKeptParseIsTheParseAndErrorsAreNotKept() throws {
        let cache = ParseCache<QueryExpr>(capacity: 3)
        var parses = 0
        func parse(_ text: String) throws(QueryError) -> QueryExpr {
            try cache.value(text) { text throws(QueryError) in
                parses += 1
                return try QueryParser.parse(text)
            }
        }
        let text = #"pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20"#
        let first = try parse(text)
        let again = try parse(text)
        let fresh = try QueryParser.parse(text)
        #expect(first == again && first == fresh)
        #expect(parses == 1 && cache.count == 1)

        for _ in 0..<2 {
            #expect(throws: QueryError.self) { try parse("pasid_bits >= ") }
        }
        #expect(parses == 3, "an error is parsed again each time")
        #expect(cache.count == 1, "and not kept")

        _ = try parse("nesting")
        _ = try parse("not nesting")
        #expect(cache.count == 3)
        _ = try parse("pasid_bits > 1")
        #expect(cache.count == 1, "full: the cache starts over")
        _ = try parse(text)
        #expect(parses == 7, "the first text was parsed again after the cache started over")
    }
}
