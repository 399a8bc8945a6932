import Testing
import Decoders
@testable import Report

@Suite struct HostFactsTests {
    func record(_ unit: String, _ facts: [Fact]) -> CapabilityRecord {
        CapabilityRecord(unit: unit, capability: "vtd-regs", version: 1, raw: [], facts: facts)
    }

    @Test func combinesUnitsConservatively() {
        let combined = HostFacts.combine([
            record("dmar0", [Fact("nesting", true), Fact("pasid_bits", int: 20), Fact("vtd.cap", text: "0x1"), Fact("only0", true)]),
            record("dmar1", [Fact("nesting", false), Fact("pasid_bits", int: 16), Fact("vtd.cap", text: "0x2")]),
        ])
        let byName = Dictionary(uniqueKeysWithValues: combined.map { ($0.name, $0.value) })
        #expect(byName["nesting"] == .bool(false), "a boolean holds only when every unit has it")
        #expect(byName["pasid_bits"] == .int(16), "the smallest width")
        #expect(byName["vtd.cap"] == .text("0x1,0x2"))
        #expect(byName["only0"] == .bool(true), "units that do not report a name do not vote")
        #expect(byName["missing"] == nil)
        #expect(combined.map(\.name) == combined.map(\.name).sorted())
    }
}
