import Decoders
import Query
import Testing
import TestSupport

/// Why a host does not match: the predicates that failed (false) or could not be decided (unknown),
/// with the host's values, down to a profile's condition.
@Suite struct ExplainTests {
    let amdHost = QueryEvaluator(facts: ["pasid_bind": .bool(true), "pasid_bits": .int(8), "first_level.format": .text("amd-v2"),
                                         "iommu.vendor": .text("amd")],
                                 kernelRelease: "5.4.0-150-generic", labels: ["rack": "r3"])
    let intelHost = QueryEvaluator(facts: ["pasid_bind": .bool(true), "pasid_bits": .int(20), "first_level.format": .text("intel-vtd"),
                                           "vtd.ecap.ers": .bool(true), "vtd.ecap.nest": .bool(false)],
                                   kernelRelease: "6.8.0-45-generic", labels: [:])

    func reasons(_ text: String, _ host: QueryEvaluator) throws -> [QueryReason] {
        QueryExplainer(host).reasons(try QueryParser.parse(text))
    }

    func messages(_ text: String, _ host: QueryEvaluator) throws -> [String] { try reasons(text, host).map(\.message) }

    @Test func issueExample() throws {
        let r = try reasons("pasid_bind and pasid_bits >= 20", amdHost)
        #expect(r == [QueryReason(predicate: "pasid_bits >= 20", outcome: .false, term: .fact("pasid_bits", .int), value: .int(8),
                                  message: "pasid_bits = 8, needs >= 20", condition: nil)])
        #expect(try reasons("pasid_bind and pasid_bits >= 20", intelHost).isEmpty)
    }

    @Test func unknownIsNotFalse() throws {
        let absent = try #require(try reasons("vtd.ecap.nest", amdHost).first)
        #expect(absent.outcome == .unknown && absent.value == nil)
        #expect(absent.message == "vtd.ecap.nest unknown (never reported), needs = true")
        let reportedFalse = try #require(try reasons("vtd.ecap.nest", intelHost).first)
        #expect(reportedFalse.outcome == .false && reportedFalse.value == .bool(false))
        #expect(reportedFalse.message == "vtd.ecap.nest = false, needs = true")
        // known() is never unknown: absence makes it false.
        #expect(try reasons("known(vtd.ecap.nest)", amdHost)
                == [QueryReason(predicate: "known(vtd.ecap.nest)", outcome: .false, term: .fact("vtd.ecap.nest", .bool), value: nil,
                                message: "vtd.ecap.nest was never reported, needs known(vtd.ecap.nest)", condition: nil)])
        // A value stored with another type than the vocabulary's cannot be compared.
        let odd = QueryEvaluator(facts: ["pasid_bits": .text("20")], kernelRelease: nil, labels: [:])
        #expect(try messages("pasid_bits >= 20", odd) == [#"pasid_bits unknown (reported as text "20"), needs >= 20"#])
    }

    /// `and` stops at its first part that is not true, even when a later one is false.
    @Test func andExplainsItsFirstFailingPart() throws {
        #expect(try messages(#"pasid_bind and vtd.ecap.ers and first_level.format = "intel-vtd""#, amdHost)
                == ["vtd.ecap.ers unknown (never reported), needs = true"])
        #expect(try messages(#"pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20"#, amdHost)
                == [#"first_level.format = "amd-v2", needs = "intel-vtd""#])
    }

    @Test func orExplainsEveryAlternative() throws {
        let r = try reasons(#"pasid_bits >= 20 or vtd.ecap.nest or label.rack in ("r1", "r2")"#, amdHost)
        #expect(r.map(\.message) == ["pasid_bits = 8, needs >= 20", "vtd.ecap.nest unknown (never reported), needs = true",
                                     #"label.rack = "r3", needs in ("r1", "r2")"#])
        #expect(r.map(\.outcome) == [.false, .unknown, .false])
    }

    @Test func notIsPushedToItsPredicates() throws {
        // True underneath: the negated predicate is the reason, with the value that made it true.
        #expect(try reasons("not vtd.ecap.ers", intelHost)
                == [QueryReason(predicate: "not vtd.ecap.ers = true", outcome: .false, term: .fact("vtd.ecap.ers", .bool), value: .bool(true),
                                message: "vtd.ecap.ers = true, needs != true", condition: nil)])
        // Unknown underneath stays unknown.
        #expect(try messages("not vtd.ecap.ers", amdHost) == ["vtd.ecap.ers unknown (never reported), needs != true"])
        // not (a and b) is (not a) or (not b): both true, both are reasons; not (a or b) is (not a) and (not b).
        #expect(try messages("not (pasid_bind and pasid_bits >= 20)", intelHost)
                == ["pasid_bind = true, needs != true", "pasid_bits = 20, needs < 20"])
        #expect(try messages("not (vtd.ecap.nest or pasid_bits in (16, 20))", intelHost) == ["pasid_bits = 20, needs not in (16, 20)"])
        #expect(try messages("not known(vtd.ecap.ers)", intelHost) == ["vtd.ecap.ers = true, needs not known(vtd.ecap.ers)"])
        #expect(try messages("not not pasid_bits > 8", amdHost) == ["pasid_bits = 8, needs > 8"])
    }

    @Test func kernelAndLabels() throws {
        let kernel = try #require(try reasons(#"kernel >= "5.10""#, amdHost).first)
        #expect(kernel.message == #"kernel = 5.4.0-150-generic, needs >= "5.10""#)
        #expect(kernel.value == .text("5.4.0-150-generic") && kernel.term == .kernel && kernel.outcome == .false)
        let bare = QueryEvaluator(facts: [:], kernelRelease: nil, labels: [:])
        #expect(try messages(#"kernel in ("6.1", "6.8")"#, bare) == [#"kernel unknown (never reported), needs in ("6.1", "6.8")"#])
        #expect(try messages(#"label.rack in ("r1", "r2")"#, bare) == [#"label.rack unknown (no such label), needs in ("r1", "r2")"#])
        #expect(try messages("known(label.rack)", bare) == ["label.rack is not set (no such label), needs known(label.rack)"])
        #expect(try messages(#"label.rack != "r3""#, amdHost) == [#"label.rack = "r3", needs != "r3""#])
    }

    // MARK: profiles

    /// The VT-d 6.0 registers of ProfileTests (nesting-capable, ECAP.PASID clear) as iommufd reports them.
    @Test func profileExplainedDownToItsCondition() throws {
        let host = QueryExplainer(facts: try ProfileTests.nestingHost(), kernelRelease: "6.12.9-amd64", labels: [:])
        #expect(host.reasons(try QueryParser.parse(#"profile("vtd-nested")"#)).isEmpty)
        let pasid = host.reasons(try QueryParser.parse(#"profile("vtd-nested", aw_bits=48, pasid_bits=20)"#))
        #expect(pasid == [QueryReason(predicate: "vtd.ecap.pasid = true", outcome: .false, term: .fact("vtd.ecap.pasid", .bool), value: .bool(false),
                                      message: "vtd.ecap.pasid = false, needs = true", condition: "vtd-nested/pasid-width")])
        // With PASIDs but only 16 bits of them, the second predicate of the same condition fails.
        let pss15 = (ProfileTests.realEcap | (1 << 40)) & ~(UInt64(0x1f) << 35) | (UInt64(15) << 35)
        let narrow = QueryExplainer(facts: try ProfileTests.nestingHost(ecap: pss15), kernelRelease: nil, labels: [:])
        #expect(narrow.reasons(try QueryParser.parse(#"profile("vtd-nested", pasid_bits=20)"#)).map { "\($0.condition!): \($0.message)" }
                == ["vtd-nested/pasid-width: vtd.pasid_bits = 16, needs >= 20"])
        // Beside other predicates, and negated: the conditions that held are the reasons.
        let wide = host.reasons(try QueryParser.parse(#"kernel >= "6.8" and profile("vtd-nested", aw_bits=57)"#))
        #expect(wide.map(\.condition) == ["vtd-nested/address-width"] && wide.map(\.message) == ["vfio.iova_top_bits = 48, needs >= 57"])
        let negated = host.reasons(try QueryParser.parse(#"not profile("smmuv3-nested") and not profile("vtd-nested", fs1gp=false)"#))
        #expect(negated.map(\.condition) == ["vtd-nested/iommufd-vtd", "vtd-nested/scalable-mode", "vtd-nested/nest", "vtd-nested/kernel-nest-parent", "vtd-nested/second-stage",
                                             "vtd-nested/first-stage", "vtd-nested/address-width"])
        #expect(negated.first?.message == #"iommufd.data_type = "intel-vtd", needs != "intel-vtd""#)
    }

    /// A real capture (QEMU's emulated scalable-mode unit, no iommufd): the first condition not true is
    /// the unknown iommufd one, not the false ECAP.NEST behind it.
    @Test func captureWithoutIOMMUFDIsUnknownFirst() throws {
        let host = QueryExplainer(facts: try ProfileTests.captureHost("scalable-aw48"), kernelRelease: nil, labels: [:])
        let r = host.reasons(try QueryParser.parse(#"profile("vtd-nested")"#))
        #expect(r.map(\.message) == [#"iommufd.data_type unknown (never reported), needs = "intel-vtd""#])
        #expect(r.map(\.condition) == ["vtd-nested/iommufd-vtd"] && r.map(\.outcome) == [.unknown])
    }

    // MARK: properties

    /// Over random expressions and hosts: reasons exist exactly when the host does not match; each one,
    /// parsed and evaluated alone, gives its outcome and names the host's value; `and` explains its first
    /// part that is not true, `or` all of its parts; an unknown expression has an unknown reason.
    @Test func explanationsAgreeWithTheEvaluator() throws {
        var random = RandomQueries(dice: Dice(state: 2026))
        var counts = (matched: 0, explained: 0, unknownReasons: 0, falseReasons: 0, named: 0)
        for _ in 0..<1500 {
            let text = random.expression()
            let expr = try QueryParser.parse(text)
            let host = random.host()
            let explainer = QueryExplainer(host)
            let reasons = explainer.reasons(expr)
            #expect(reasons.isEmpty == host.matches(expr), "\(text)")
            if reasons.isEmpty { counts.matched += 1 } else { counts.explained += 1 }
            for reason in reasons {
                let alone = host.evaluate(try QueryParser.parse(reason.predicate))
                #expect(alone == (reason.outcome == .false ? false : nil), "\(text): \(reason.predicate)")
                #expect(expr.terms.contains(reason.term), "\(text): \(reason.term)")
                #expect(reason.value == Self.value(reason.term, host), "\(text): \(reason.term)")
                if reason.outcome == .unknown { counts.unknownReasons += 1 } else { counts.falseReasons += 1 }
                if reason.condition != nil { counts.named += 1 }
            }
            for part in Self.subexpressions(expr) where !host.matches(part) {
                let partReasons = explainer.reasons(part)
                switch part {
                case .and(let parts):
                    let first = try #require(parts.first { !host.matches($0) })
                    #expect(partReasons == explainer.reasons(first), "\(text): \(part)")
                case .or(let parts):
                    #expect(partReasons == parts.flatMap { explainer.reasons($0) }, "\(text): \(part)")
                default:
                    break
                }
                // What makes an expression unknown is a predicate the host never reported.
                if host.evaluate(part) == nil { #expect(partReasons.contains { $0.outcome == .unknown }, "\(text): \(part)") }
            }
        }
        // Both sides and both outcomes are exercised, profiles included.
        #expect(counts.matched > 200 && counts.explained > 200, "\(counts)")
        #expect(counts.unknownReasons > 200 && counts.falseReasons > 200 && counts.named > 50, "\(counts)")
    }

    static func value(_ term: QueryTerm, _ host: QueryEvaluator) -> FactValue? {
        switch term {
        case .fact(let name, _): return host.facts[name]
        case .kernel: return host.kernelRelease.map { .text($0) }
        case .label(let key): return host.labels[key].map { .text($0) }
        }
    }

    static func subexpressions(_ e: QueryExpr) -> [QueryExpr] {
        switch e {
        case .and(let parts), .or(let parts): return [e] + parts.flatMap(subexpressions)
        case .not(let inner), .named(_, let inner): return [e] + subexpressions(inner)
        case .compare, .oneOf, .has, .covers, .devices: return [e]
        }
    }
}
