import Decoders
import Query
import Testing

/// `smmuv3-nested` over hosts decoded by the SMMUv3 decoder. No SMMUv3 capture exists yet, so the ID
/// registers are composed field by field from the Arm layout (not taken from a real machine).
@Suite struct SMMUv3ProfileTests {
    struct IDRs {
        var s1p = true, s2p = true, ttf: UInt32 = 2, ttendian: UInt32 = 2, stLevel: UInt32 = 1
        var sidsize: UInt32 = 32, ssidsize: UInt32 = 20, fwb = true, ril = true, oas: UInt32 = 5
        var gran4k = true, gran16k = true, gran64k = true

        var words: [UInt32] {
            func b(_ v: Bool, _ at: UInt32) -> UInt32 { v ? 1 << at : 0 }
            let idr0 = b(s2p, 0) | b(s1p, 1) | ttf << 2 | ttendian << 21 | stLevel << 27
            let idr1 = sidsize | ssidsize << 6
            let idr3 = b(fwb, 8) | b(ril, 10)
            let idr5 = oas | b(gran4k, 4) | b(gran16k, 5) | b(gran64k, 6)
            return [idr0, idr1, 0, idr3, 0, idr5]
        }
    }

    /// What a collector with iommufd reports: struct iommu_hw_info (type 2, 40 data bytes) and
    /// iommu_hw_info_arm_smmuv3 (flags, reserved, IDR0–IDR5, IIDR, AIDR).
    static func host(_ idrs: IDRs) throws -> [String: FactValue] {
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        let info = le(40) + le(0) + le(1) + le(40) + [UInt8](repeating: 0, count: 8) + le(2) + le(0) + [UInt8](repeating: 0, count: 8)
        let data = le(0) + le(0) + idrs.words.flatMap(le) + le(0) + le(0)
        var facts = Dictionary(try IOMMUFDHWInfo.decode(info: info, data: data).facts.map { ($0.name, $0.value) }) { $1 }
        // The kernel's answer to the nest-parent probe, as the SMMUv3 driver gives it: both stages needed.
        facts["nesting"] = .bool(idrs.s1p && idrs.s2p)
        return facts
    }

    func evaluate(_ idrs: IDRs, _ arguments: [String: QueryLiteral] = [:]) throws -> (Bool?, [String: Bool?]) {
        let e = try CompatibilityProfile.expand("smmuv3-nested", arguments: arguments)
        let host = QueryEvaluator(facts: try Self.host(idrs), kernelRelease: nil, labels: [:])
        return (host.evaluate(e.expression), Dictionary(uniqueKeysWithValues: e.conditions.map { ($0.id, host.evaluate($0.expression)) }))
    }

    @Test func defaults() throws {
        let e = try CompatibilityProfile.expand("smmuv3-nested")
        #expect(e.conditions.map(\.id) == ["iommufd-smmuv3", "nesting", "kernel-nest-parent", "coherent", "stream-table", "little-endian", "aarch64-tables",
                                           "sid-size", "range-invalidation", "output-size", "granules"])
        #expect(e.skipped == ["ssid-size"])
        #expect(e.conditions.first { $0.id == "output-size" }?.text == "smmu.oas_bits >= 44")
    }

    @Test func capableHostMatches() throws {
        #expect(try evaluate(IDRs()).0 == true)
        #expect(try evaluate(IDRs(), ["oas_bits": .int(48), "ssid_bits": .int(20)]).0 == true)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var change: @Sendable (inout IDRs) -> Void
        var arguments: [String: QueryLiteral] = [:]
        var failing: String
        /// Conditions the same shortfall fails too (the kernel's answer follows the hardware's).
        var alsoFailing: [String] = []
        var testDescription: String { failing }
    }

    /// Each host shortfall fails exactly its own condition (false, not unknown).
    static let shortfalls: [Case] = [
        Case(change: { $0.s2p = false }, failing: "nesting", alsoFailing: ["kernel-nest-parent"]),
        Case(change: { $0.fwb = false }, failing: "coherent"),
        Case(change: { $0.stLevel = 0 }, failing: "stream-table"),
        Case(change: { $0.ttendian = 3 }, failing: "little-endian"),
        Case(change: { $0.ttf = 1 }, failing: "aarch64-tables"),
        Case(change: { $0.sidsize = 8 }, failing: "sid-size"),
        Case(change: { $0.ssidsize = 16 }, arguments: ["ssid_bits": .int(20)], failing: "ssid-size"),
        Case(change: { $0.ril = false }, failing: "range-invalidation"),
        Case(change: { $0.oas = 4 }, arguments: ["oas_bits": .int(48)], failing: "output-size"),
        Case(change: { $0.gran16k = false }, failing: "granules"),
    ]

    @Test(arguments: shortfalls)
    func shortfallFailsItsCondition(_ c: Case) throws {
        var idrs = IDRs()
        c.change(&idrs)
        let (whole, conditions) = try evaluate(idrs, c.arguments)
        #expect(whole == false)
        #expect(Set(conditions.filter { $0.value != true }.map(\.key)) == Set([c.failing] + c.alsoFailing))
        #expect(conditions[c.failing] == .some(false))
    }

    @Test func rilOffDropsTheCheck() throws {
        var idrs = IDRs()
        idrs.ril = false
        #expect(try evaluate(idrs, ["ril": .bool(false)]).0 == true)
    }

    /// A VT-d host has none of the smmu facts: unknown, never a match.
    @Test func otherVendorIsUnknownOrFalse() throws {
        let vtd = Dictionary(VTdRegisters.decode(cap: 0x9ed008c40780466, ecap: 0x3ee9e86f050df).map { ($0.name, $0.value) }) { $1 }
        let e = try CompatibilityProfile.expand("smmuv3-nested")
        #expect(QueryEvaluator(facts: vtd, kernelRelease: nil, labels: [:]).evaluate(e.expression) == nil)
    }
}
