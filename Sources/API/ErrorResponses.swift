import Query
import Server
import Store

/// An answer other than success, in the server's one error shape. Endpoints throw it; the router turns
/// it into the response, so every refusal looks the same.
public struct APIError: Error, Sendable {
    public var status: HTTPStatus
    public var code: String
    public var message: String
    public var details: [(String, ErrorDetail)]
    public var headers: [(String, String)]

    public init(_ status: HTTPStatus, _ code: String, _ message: String, details: [(String, ErrorDetail)] = [],
                headers: [(String, String)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public var response: HTTPResponse {
        var response = HTTPResponse.error(status, code: code, message: message, details: details)
        for (name, value) in headers { response.headers.set(name, value) }
        return response
    }

    static func badParameter(_ name: String, _ message: String) -> APIError {
        APIError(.badRequest, "bad_parameter", "\(name): \(message)", details: [("parameter", .string(name))])
    }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, "not_found", what) }

    /// A refused expression: where (character offset), what kind, and for unknown names the nearest known ones.
    static func query(_ error: QueryError, parameter: String) -> APIError {
        let code: String
        switch error.kind {
        case .syntax: code = "query_syntax"
        case .unknownName: code = "unknown_name"
        case .type: code = "query_type"
        case .tooLong: code = "query_too_long"
        case .tooDeep: code = "query_too_deep"
        }
        var details: [(String, ErrorDetail)] = [("parameter", .string(parameter)), ("position", .int(error.position))]
        if let expected = expected(in: error.message) { details.append(("expected", .string(expected))) }
        if error.kind == .unknownName { details.append(("suggestions", .strings(error.suggestions))) }
        return APIError(.badRequest, code, "\(parameter): \(error)", details: details)
    }

    /// The parser's messages say "expected X, found Y"; clients get X on its own.
    static func expected(in message: String) -> String? {
        guard let range = message.range(of: "expected ") else { return nil }
        var rest = message[range.upperBound...]
        if let found = rest.range(of: ", found ") { rest = rest[..<found.lowerBound] }
        return String(rest)
    }

    static func hostQuery(_ error: HostQueryError) -> APIError {
        switch error {
        case .badCursor: return .badParameter("cursor", error.description)
        case .badLimit: return .badParameter("limit", error.description)
        }
    }
}
