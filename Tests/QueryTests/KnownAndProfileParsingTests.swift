import Decoders
import Query
import Testing

/// `known(NAME)` (with `has` as its synonym) and `profile("name", param=value, …)` as query syntax.
@Suite struct KnownAndProfileParsingTests {
    func error(_ text: String) -> QueryError? {
        do {
            _ = try QueryParser.parse(text)
            return nil
        } catch {
            return error
        }
    }

    // MARK: known()

    @Test func knownIsHas() throws {
        for name in ["pasid_bits", "vtd.ecap.ers", "kernel", "label.rack", "label.topology.example.io/zone"] {
            #expect(try QueryParser.parse("known(\(name))") == QueryParser.parse("has(\(name))"), "\(name)")
        }
        #expect(try QueryParser.parse("KNOWN(pasid_bits)") == .has(.fact("pasid_bits", .int)))
        // `known` is the spelling printed back.
        #expect(try QueryParser.parse("not has(label.rack) and pasid_bind").description == "((not known(label.rack)) and pasid_bind = true)")
    }

    /// The new keywords shadow no vocabulary name, and names that merely start with them are still names.
    @Test func keywordsShadowNoName() throws {
        for keyword in ["known", "profile", "has"] { #expect(Vocabulary.byName[keyword] == nil) }
        #expect(try QueryParser.parse(#"label.known = "x" and label.profile = "y""#)
                == .and([.compare(.label("known"), .eq, .text("x")), .compare(.label("profile"), .eq, .text("y"))]))
        #expect(try #require(error("known.x")).kind == .unknownName)
        #expect(try #require(error("known")).message.contains("expected '(' after 'known'"))
    }

    // MARK: profile()

    @Test func profileKeepsItsConditionsNamed() throws {
        let e = try QueryParser.parse(#"profile("vtd-nested", aw_bits=48, pasid_bits=20)"#)
        let expanded = try CompatibilityProfile.expand("vtd-nested", arguments: ["aw_bits": .int(48), "pasid_bits": .int(20)])
        guard case .named("vtd-nested", .and(let conditions)) = e else {
            Issue.record("not a named profile: \(e)")
            return
        }
        #expect(conditions == expanded.conditions.map { .named($0.id, $0.expression) })
        #expect(conditions.contains(.named("pasid-width", try QueryParser.parse("vtd.ecap.pasid and vtd.pasid_bits >= 20 and pasid_bits >= 20"))))
        // `description` is the expression without names: it parses back to the profile's flat conjunction.
        #expect(try QueryParser.parse(e.description) == expanded.expression)
        #expect(e.terms == expanded.expression.terms)
    }

    @Test func profileIsAPrimaryAnywhere() throws {
        let profile = try QueryParser.parse(#"profile("smmuv3-nested")"#)
        #expect(try QueryParser.parse(#"pasid_bind and Profile('smmuv3-nested') and not nesting"#)
                == .and([.compare(.fact("pasid_bind", .bool), .eq, .bool(true)), profile, .not(.compare(.fact("nesting", .bool), .eq, .bool(true)))]))
        #expect(try QueryParser.parse(#"not profile("smmuv3-nested")"#) == .not(profile))
        #expect(try QueryParser.parse(#"(profile("smmuv3-nested") or kernel >= "6.8")"#) == .or([profile, try QueryParser.parse(#"kernel >= "6.8""#)]))
        #expect(try QueryParser.parse(#"profile( "smmuv3-nested" , ssid_bits = 0x10 , ril = FALSE )"#)
                == QueryParser.parse(#"profile("smmuv3-nested", ril=false, ssid_bits=16)"#))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var kind: QueryError.Kind
        var position: Int
        var mentions: String
        var testDescription: String { text }
    }

    static let refusals: [Case] = [
        Case(text: #"profile("vtd-nestd")"#, kind: .unknownName, position: 8, mentions: "unknown profile 'vtd-nestd'; did you mean vtd-nested, amd-nested?"),
        Case(text: #"nesting and profile("vtd-nested", aw_bit=48)"#, kind: .unknownName, position: 34,
             mentions: "profile vtd-nested has no parameter 'aw_bit'; did you mean aw_bits?"),
        Case(text: #"profile("vtd-nested", pasid_bits=20, aw_bits="48")"#, kind: .type, position: 45,
             mentions: #"aw_bits is int: expected an integer, found "48""#),
        Case(text: #"profile("vtd-nested", aw_bits=64)"#, kind: .type, position: 30, mentions: "aw_bits = 64 is outside 39...57"),
        Case(text: #"profile("vtd-nested", fs1gp=1)"#, kind: .type, position: 28, mentions: "fs1gp is bool: expected true or false, found 1"),
        Case(text: "profile(vtd-nested)", kind: .syntax, position: 8, mentions: "expected a quoted profile name"),
        Case(text: "profile", kind: .syntax, position: 7, mentions: "expected '(' after 'profile', found end of input"),
        Case(text: #"profile("vtd-nested""#, kind: .syntax, position: 20, mentions: "expected ',' or ')' in profile(), found end of input"),
        Case(text: #"profile("vtd-nested" aw_bits=48)"#, kind: .syntax, position: 21, mentions: "expected ',' or ')' in profile(), found 'aw_bits'"),
        Case(text: #"profile("vtd-nested", 48)"#, kind: .syntax, position: 22, mentions: "expected a parameter name after ','"),
        Case(text: #"profile("vtd-nested", aw_bits 48)"#, kind: .syntax, position: 30, mentions: "expected '=' after 'aw_bits'"),
        Case(text: #"profile("vtd-nested", aw_bits=)"#, kind: .syntax, position: 30, mentions: "expected a value after 'aw_bits=', found ')'"),
        Case(text: #"profile("vtd-nested", aw_bits=48, aw_bits=57)"#, kind: .syntax, position: 34, mentions: "parameter 'aw_bits' is given twice"),
    ]

    @Test(arguments: refusals) func refused(_ c: Case) throws {
        let e = try #require(error(c.text))
        #expect(e.kind == c.kind, "\(e)")
        #expect(e.position == c.position, "\(e)")
        #expect(e.message.contains(c.mentions), "\(e)")
    }

    @Test func refusalsCarrySuggestions() throws {
        #expect(try #require(error(#"profile("vtd-nestd")"#)).suggestions == ["vtd-nested", "amd-nested"])
        #expect(try #require(error(#"profile("smmuv3-nested", ssid_bit=20)"#)).suggestions == ["ssid_bits"])
    }

    /// A profile call counts as one level of nesting, like parentheses.
    @Test func profileCountsTowardsDepth() throws {
        #expect(error(String(repeating: "not ", count: 63) + #"profile("vtd-nested")"#) == nil)
        #expect(try #require(error(String(repeating: "not ", count: 64) + #"profile("vtd-nested")"#)).kind == .tooDeep)
    }
}
