import Decoders
import Query
import Testing

/// Grouping, literals and terms: `description` prints the parsed tree fully parenthesized.
@Suite struct ParserTests {
    func parsed(_ text: String) throws -> String { try QueryParser.parse(text).description }

    @Test func issueExample() throws {
        #expect(try parsed(#"pasid_bind and nesting.format = "intel-vtd" and pasid_bits >= 20 and not vtd.ecap.ers"#)
                == #"(pasid_bind = true and nesting.format = "intel-vtd" and pasid_bits >= 20 and (not vtd.ecap.ers = true))"#)
    }

    @Test func precedenceNotOverAndOverOr() throws {
        #expect(try parsed("nesting or pasid_bind and not vtd.ecap.ers")
                == "(nesting = true or (pasid_bind = true and (not vtd.ecap.ers = true)))")
        #expect(try parsed("not nesting and pasid_bind or vtd.ecap.ers")
                == "(((not nesting = true) and pasid_bind = true) or vtd.ecap.ers = true)")
        #expect(try parsed("not not nesting") == "(not (not nesting = true))")
    }

    @Test func parenthesesRegroup() throws {
        #expect(try parsed("(nesting or pasid_bind) and vtd.ecap.ers")
                == "((nesting = true or pasid_bind = true) and vtd.ecap.ers = true)")
        #expect(try parsed("not (nesting and pasid_bind)") == "(not (nesting = true and pasid_bind = true))")
        #expect(try parsed("((((nesting))))") == "nesting = true")
    }

    @Test func chainsFlatten() throws {
        guard case .and(let parts) = try QueryParser.parse("nesting and pasid_bind and (vtd.ecap.ers and vtd.ecap.prs)") else {
            Issue.record("not an and")
            return
        }
        #expect(parts.count == 4)
    }

    @Test func operatorsAndLiterals() throws {
        #expect(try parsed("pasid_bits != 20") == "pasid_bits != 20")
        #expect(try parsed("pasid_bits<20") == "pasid_bits < 20")
        #expect(try parsed("pasid_bits<=-1") == "pasid_bits <= -1")
        #expect(try parsed("addr_width > 0x30") == "addr_width > 48")
        #expect(try parsed("vtd.ecap.ers = false") == "vtd.ecap.ers = false")
        #expect(try parsed("vtd.ecap.ers != TRUE") == "vtd.ecap.ers != true")
        #expect(try parsed(#"iommu.vendor = 'intel'"#) == #"iommu.vendor = "intel""#)
        #expect(try parsed(#"iommu.vendor = "a\"b\\c""#) == #"iommu.vendor = "a\"b\\c""#)
        #expect(try parsed("nesting AND NOT pasid_bind Or pasid_bits >= 1 AnD has(nesting)") != "")  // keywords are case-insensitive …
        #expect(throws: QueryError.self) { try QueryParser.parse("Nesting") }  // … names are not
    }

    @Test func inLists() throws {
        #expect(try parsed(#"first_level.format in ("intel-vtd", "amd-v2")"#) == #"first_level.format in ("intel-vtd", "amd-v2")"#)
        #expect(try parsed("pasid_bits in (16, 20)") == "pasid_bits in (16, 20)")
        #expect(try parsed("pasid_bits not in (16)") == "(not pasid_bits in (16))")
        #expect(try parsed(#"kernel in ("6.1", "6.8")"#) == #"kernel in ("6.1", "6.8")"#)
    }

    @Test func hasAndLabelsAndKernel() throws {
        #expect(try QueryParser.parse("has(pasid_bits)") == .has(.fact("pasid_bits", .int)))
        #expect(try QueryParser.parse("has(label.rack)") == .has(.label("rack")))
        #expect(try QueryParser.parse(#"label.rack = "r12""#) == .compare(.label("rack"), .eq, .text("r12")))
        #expect(try QueryParser.parse(#"label.topology.example.io/zone != "z1""#)
                == .compare(.label("topology.example.io/zone"), .ne, .text("z1")))
        guard case .compare(.kernel, .ge, .kernel(let k)) = try QueryParser.parse(#"kernel >= "5.10""#) else {
            Issue.record("not a kernel comparison")
            return
        }
        #expect(k.lower == KernelRelease(major: 5, minor: 10) && k.upper == KernelRelease(major: 5, minor: 11))
    }

    @Test func termsInOrder() throws {
        let e = try QueryParser.parse(#"pasid_bits >= 20 and (label.rack = "r1" or kernel < "6") and not has(pasid_bits)"#)
        #expect(e.terms == [.fact("pasid_bits", .int), .label("rack"), .kernel])
    }
}
