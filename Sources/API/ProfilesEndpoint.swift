import Query
import Server

/// GET /v1/profiles: the compatibility profiles `profile("name", …)` accepts in any query, each with
/// its parameters and the conditions it checks, and where each condition comes from (docs/profiles.md).
extension API {
    func profiles(_ request: HTTPRequest) throws -> HTTPResponse {
        _ = try Parameters(request, allowed: [])
        let profiles: [JSONValue] = CompatibilityProfile.all.map { profile in
            .object([
                ("name", .string(profile.name)),
                ("summary", .string(profile.summary)),
                ("parameters", .array(profile.parameters.map { parameter in
                    .object([
                        ("name", .string(parameter.name)),
                        ("type", .string(parameter.kind.rawValue)),
                        ("default", literal(parameter.defaultValue)),
                        ("min", parameter.range.map { .int($0.lowerBound) } ?? .null),
                        ("max", parameter.range.map { .int($0.upperBound) } ?? .null),
                        ("summary", .string(parameter.summary)),
                    ])
                })),
                ("conditions", .array(profile.conditions.map { condition in
                    .object([
                        ("id", .string(condition.id)),
                        ("requirement", .string(condition.requirement)),
                        ("expression", .string(condition.template)),
                        ("applies", .string(condition.applies.description)),
                        ("checked_by", .string(condition.source.checkedBy.rawValue)),
                        ("source", .string(condition.source.description)),
                        ("note", .string(condition.source.note)),
                    ])
                })),
            ])
        }
        return .json(.object([("profiles", .array(profiles))]))
    }

    private func literal(_ value: QueryLiteral) -> JSONValue {
        switch value {
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .text(let s): return .string(s)
        case .kernel(let k): return .string(k.text)
        }
    }
}
