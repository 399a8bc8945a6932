import Foundation
import Query
import Server
import Store
import Timestamps

/// Query-string parameters of one request, checked against what the endpoint accepts: an unknown or
/// repeated parameter is a 400 (a misspelt `wehre=` must not silently list the whole fleet).
struct Parameters {
    private var values: [String: String] = [:]

    static let expressions = ParseCache<QueryExpr>()
    static let fieldLists = ParseCache<[QueryTerm]>()

    /// Accepted by every endpoint; the API reads it before the endpoint runs (API.awaitRevision).
    static let universal: Set<String> = ["min_revision"]

    init(_ request: HTTPRequest, allowed: Set<String>) throws(APIError) {
        for item in request.query {
            guard allowed.contains(item.name) || Parameters.universal.contains(item.name) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw APIError.badParameter(item.name, "unknown parameter" + (known.isEmpty ? "" : " (accepted: \(known))"))
            }
            guard values[item.name] == nil else { throw APIError.badParameter(item.name, "given more than once") }
            values[item.name] = item.value
        }
    }

    func string(_ name: String) -> String? { values[name] }

    /// 1…max (default `HostQueryLimits.default`): every list is a page, never the whole table.
    func limit(max: Int = HostQueryLimits.max) throws(APIError) -> Int {
        guard let text = values["limit"] else { return HostQueryLimits.default }
        guard !text.isEmpty, text.utf8.count <= 7, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text),
              (1...max).contains(n) else {
            throw APIError.badParameter("limit", "expected an integer within 1…\(max), found \"\(text.prefix(40))\"")
        }
        return n
    }

    /// `true` or `false` (absent: false).
    func flag(_ name: String) throws(APIError) -> Bool {
        switch values[name] {
        case nil, "false": return false
        case "true": return true
        case let text?: throw APIError.badParameter(name, "expected true or false, found \"\(text.prefix(40))\"")
        }
    }

    /// A decimal integer ≥ 1.
    func positiveInteger(_ name: String) throws(APIError) -> Int64? {
        guard let text = values[name] else { return nil }
        guard let n = Parameters.wholeNumber(text), n >= 1 else {
            throw APIError.badParameter(name, "expected a whole number of at least 1, found \"\(text.prefix(40))\"")
        }
        return n
    }

    /// A decimal integer ≥ 0.
    func nonNegativeInteger(_ name: String) throws(APIError) -> Int64? {
        guard let text = values[name] else { return nil }
        guard let n = Parameters.wholeNumber(text) else {
            throw APIError.badParameter(name, "expected a whole number, found \"\(text.prefix(40))\"")
        }
        return n
    }

    /// Digits only, at most 18 of them (no sign, no space): the one reading of a count or an id.
    static func wholeNumber(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }

    /// `fresh_within=DURATION` (90s, 30m, 2h, 7d) or `off`; absent: the server's default.
    func freshWithin(default fallback: DurationText?) throws(APIError) -> DurationText? {
        guard let text = values["fresh_within"] else { return fallback }
        if text == "off" { return nil }
        do {
            return try DurationText.parse(text)
        } catch {
            throw APIError.badParameter("fresh_within", "\(error.reason), or off")
        }
    }

    /// An RFC 3339 time or a date (RFC3339.parse with allowingDate: what `--as-of` takes too).
    func time(_ name: String) throws(APIError) -> Date? {
        guard let text = values[name] else { return nil }
        do {
            return try RFC3339.parse(text, allowingDate: true)
        } catch {
            // `+01:00` unencoded in a query string arrives as ` 01:00`.
            let hint = text.dropFirst(19).contains(" ") ? " (in a query string, send + as %2B)" : ""
            throw APIError.badParameter(name, "\(error)\(hint); found \"\(text.prefix(40))\"")
        }
    }

    /// A query expression; empty or absent means "every host". `overHistory`: it filters past states (the
    /// change feed, the change stream), where devices(…), which reads current devices only, is refused.
    func expression(_ name: String, overHistory: Bool = false) throws(APIError) -> QueryExpr? {
        guard let text = values[name], !text.allSatisfy({ $0 == " " }) else { return nil }
        let expr: QueryExpr
        do {
            expr = try Parameters.expressions.value(text) { text throws(QueryError) in try QueryParser.parse(text) }
        } catch {
            throw APIError.query(error, parameter: name)
        }
        if overHistory && expr.readsDevices { throw APIError.badParameter(name, Parameters.devicesNowOnly) }
        return expr
    }

    static let devicesNowOnly = "devices(…) reads each host's current devices only; it cannot filter past states (ask /v1/hosts instead)"

    /// `fields=a,b,label.rack`: QueryParser.fields (the names an answer shows; unknown ones refused with
    /// the same positions and suggestions as in an expression).
    func fields(_ name: String = "fields") throws(APIError) -> [QueryTerm]? {
        guard let text = values[name] else { return nil }
        do {
            return try Parameters.fieldLists.value(text) { text throws(QueryError) in try QueryParser.fields(text) }
        } catch {
            throw APIError.query(error, parameter: name)
        }
    }
}

/// Cursors of the API's own lists (the hosts list's are the store's HostCursor), in the one codec.
enum PageCursor {
    static func encode(_ tag: String, _ key: String) -> String { CursorText.encode(tag, key) }

    static func decode(_ tag: String, _ cursor: String?) throws(APIError) -> String? {
        guard let cursor else { return nil }
        guard let key = CursorText.decode(tag, cursor) else {
            throw APIError.badParameter("cursor", "the cursor is not one this endpoint handed out")
        }
        return key
    }
}
