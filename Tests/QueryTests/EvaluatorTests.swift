import Decoders
import Query
import Testing

/// Three-valued semantics: a predicate on an absent fact is unknown, `not` keeps it unknown,
/// `has()` is always known, and only a true expression matches.
@Suite struct EvaluatorTests {
    let intelHost = QueryEvaluator(facts: ["pasid_bind": .bool(true), "pasid_bits": .int(20), "first_level.format": .text("intel-vtd"),
                                           "vtd.ecap.ers": .bool(false)],
                                   kernelRelease: "5.10.0-56-amd64", labels: ["rack": "r12"])
    let bareHost = QueryEvaluator(facts: [:], kernelRelease: nil, labels: [:])

    func value(_ text: String, _ host: QueryEvaluator) throws -> Bool? { host.evaluate(try QueryParser.parse(text)) }

    @Test func matchesTheSeedQuestion() throws {
        let q = #"pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20 and not vtd.ecap.ers"#
        #expect(try value(q, intelHost) == true)
        #expect(try value(q, bareHost) == nil)
        #expect(try value(#"pasid_bits >= 21 or first_level.format = "amd-v2""#, intelHost) == false)
    }

    @Test func absentIsUnknown() throws {
        #expect(try value("pasid_bits >= 20", bareHost) == nil)
        #expect(try value("not pasid_bits >= 20", bareHost) == nil)
        #expect(try value("pasid_bits != 20", bareHost) == nil)
        #expect(try value(#"label.rack != "r1""#, bareHost) == nil)
        #expect(try value(#"kernel < "6""#, bareHost) == nil)
        #expect(try value("has(pasid_bits)", bareHost) == false)
        #expect(try value("not has(pasid_bits) or pasid_bits < 20", bareHost) == true)
        #expect(try value("has(kernel)", intelHost) == true)
    }

    @Test func kleeneTables() throws {
        #expect(try value("pasid_bind and nesting", intelHost) == nil)        // true and unknown
        #expect(try value("not pasid_bind and nesting", intelHost) == false)  // false and unknown
        #expect(try value("pasid_bind or nesting", intelHost) == true)        // true or unknown
        #expect(try value("vtd.ecap.ers or nesting", intelHost) == nil)       // false or unknown
    }

    @Test func labelsKernelAndLists() throws {
        #expect(try value(#"label.rack = "r12" and kernel >= "5.10" and kernel < "5.11""#, intelHost) == true)
        #expect(try value(#"kernel > "5.9""#, intelHost) == true)
        #expect(try value(#"kernel in ("6.1", "5.10")"#, intelHost) == true)
        #expect(try value(#"first_level.format in ("amd-v2", "arm-smmuv3")"#, intelHost) == false)
        #expect(try value(#"first_level.format not in ("amd-v2")"#, intelHost) == true)
    }
}
