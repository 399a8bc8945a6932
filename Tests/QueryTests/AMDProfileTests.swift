import Decoders
import Query
import Testing

/// `amd-nested` over hosts decoded by the iommufd decoder from AMD EFR/EFR2 (fact sheet §3.4, §3.5).
/// No AMD capture exists, so the registers are composed bit by bit from the fact sheet's positions; the
/// usable `nesting` is what the collector's nest-parent probe would have derived.
@Suite struct AMDProfileTests {
    struct Registers {
        var gt = true, gio = true, gcr3TRPMode = true, gats: UInt64 = 0
        var efr: UInt64 { (gt ? 1 << 4 : 0) | (gio ? 1 << 48 : 0) | gats << 12 | UInt64(15) << 32 | 1 << 1 }  // + PASmax 15, PPR
        var efr2: UInt64 { (gcr3TRPMode ? 1 << 3 : 0) | 1 << 4 }  // + GAPPIDISSUP
    }

    /// struct iommu_hw_info (type 4 AMD, 16 data bytes) and iommu_hw_info_amd (+0 efr, +8 efr2), plus
    /// the usable nesting fact (nil: not probed).
    static func host(_ r: Registers, nesting: Bool? = true) throws -> [String: FactValue] {
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        let info = le(40, 4) + le(0, 4) + le(1, 4) + le(16, 4) + le(0, 8) + le(4, 4) + le(0, 4) + le(0, 8)
        var facts = Dictionary(try IOMMUFDHWInfo.decode(info: info, data: le(r.efr, 8) + le(r.efr2, 8)).facts.map { ($0.name, $0.value) }) { $1 }
        if let nesting { facts[CrossVendor.nesting] = .bool(nesting) }
        return facts
    }

    func evaluate(_ facts: [String: FactValue], _ arguments: [String: QueryLiteral] = [:]) throws -> (Bool?, [String: Bool?]) {
        let e = try CompatibilityProfile.expand("amd-nested", arguments: arguments)
        let host = QueryEvaluator(facts: facts, kernelRelease: nil, labels: [:])
        return (host.evaluate(e.expression), Dictionary(uniqueKeysWithValues: e.conditions.map { ($0.id, host.evaluate($0.expression)) }))
    }

    @Test func defaults() throws {
        let e = try CompatibilityProfile.expand("amd-nested")
        #expect(e.conditions.map(\.id) == ["iommufd-amd", "guest-translation", "guest-io", "gcr3-trp-mode", "nest-parent"])
        #expect(e.skipped == ["five-level"])
        #expect(e.expression.description
                == #"(iommufd.data_type = "amd" and amd.efr.gt = true and amd.efr.gio = true and amd.efr2.gcr3trpmode = true and nesting = true)"#)
        let five = try CompatibilityProfile.expand("amd-nested", arguments: ["guest_levels": .int(5)])
        #expect(five.skipped.isEmpty)
        #expect(five.conditions.first { $0.id == "five-level" }?.text == "amd.guest_levels >= 5")
        // Every condition is the kernel's: QEMU's amd-iommu has no merged host check.
        #expect(CompatibilityProfile.amdNested.conditions.allSatisfy { $0.source.checkedBy == .kernel })
    }

    @Test func capableHostMatches() throws {
        let facts = try Self.host(Registers())
        #expect(facts["amd.nest_parent_supported"] == .bool(true) && facts["hw.nesting"] == .bool(true))
        #expect(try evaluate(facts).0 == true)
        #expect(try evaluate(try Self.host(Registers(gats: 1)), ["guest_levels": .int(5)]).0 == true)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var registers: Registers
        var nesting: Bool? = true
        var arguments: [String: QueryLiteral] = [:]
        var failing: String
        var testDescription: String { failing }
    }

    /// Each shortfall fails exactly its own condition (false, not unknown). The registers and the usable
    /// fact are varied independently here; on a real host the kernel refuses the nest parent too.
    static let shortfalls: [Case] = [
        Case(registers: Registers(gt: false), failing: "guest-translation"),
        Case(registers: Registers(gio: false), failing: "guest-io"),
        Case(registers: Registers(gcr3TRPMode: false), failing: "gcr3-trp-mode"),
        Case(registers: Registers(gats: 0), arguments: ["guest_levels": .int(5)], failing: "five-level"),
        Case(registers: Registers(), nesting: false, failing: "nest-parent"),
    ]

    @Test(arguments: shortfalls)
    func shortfallFailsItsCondition(_ c: Case) throws {
        let (whole, conditions) = try evaluate(try Self.host(c.registers, nesting: c.nesting), c.arguments)
        #expect(whole == false)
        #expect(conditions.filter { $0.value != true }.map(\.key) == [c.failing])
        #expect(conditions[c.failing] == .some(false))
    }

    /// Nothing probed: the usable condition is unknown, so the host does not match — fail closed.
    @Test func unprobedKernelIsUnknown() throws {
        let (whole, conditions) = try evaluate(try Self.host(Registers(), nesting: nil))
        #expect(whole == nil)
        #expect(conditions.filter { $0.value != true }.map(\.key) == ["nest-parent"])
    }

    /// sysfs before 6.0 prints EFR only: GCR3TRPMODE is unknown, and so are the hardware facts built on it.
    @Test func efrOnlyLeavesGCR3TRPModeUnknown() throws {
        var facts = Dictionary(AMDRegisters.decode(efr: Registers().efr, efr2: nil).map { ($0.name, $0.value) }) { $1 }
        facts["iommufd.data_type"] = .text("amd")
        facts[CrossVendor.nesting] = .bool(true)
        let (whole, conditions) = try evaluate(facts)
        #expect(whole == nil)
        #expect(conditions["gcr3-trp-mode"] == .some(nil))
        #expect(facts["hw.nesting"] == nil && facts["amd.nest_parent_supported"] == nil)
    }

    /// A VT-d host has none of the AMD facts: unknown, never a match.
    @Test func otherVendorIsUnknownOrFalse() throws {
        var vtd = Dictionary(VTdRegisters.decode(cap: 0x9ed008c40780466, ecap: 0x3ee9e86f050df).map { ($0.name, $0.value) }) { $1 }
        vtd["iommufd.data_type"] = .text("intel-vtd")
        let (whole, conditions) = try evaluate(vtd)
        #expect(whole == false, "the data type is known and not amd")
        #expect(conditions["iommufd-amd"] == .some(false) && conditions["guest-translation"] == .some(nil))
    }
}
