import Decoders
import Foundation
import Query
import Testing

/// Compatibility profiles: every template expands to a type-checked expression for every argument
/// combination, arguments are refused clearly, and evaluation over hosts decoded from real captures
/// (../shared/captures) and real registers fails closed.
@Suite struct ProfileTests {
    // MARK: expansion

    /// Each int parameter at its bounds and default, each bool both ways, in every combination.
    static func combinations(_ profile: CompatibilityProfile) -> [[String: QueryLiteral]] {
        var out: [[String: QueryLiteral]] = [[:]]
        for p in profile.parameters {
            let values: [QueryLiteral]
            switch p.kind {
            case .bool: values = [.bool(false), .bool(true)]
            case .int: values = Set([p.range!.lowerBound, p.range!.upperBound, p.defaultValue.intValue!]).sorted().map { .int($0) }
            }
            out = out.flatMap { partial in values.map { partial.merging([p.name: $0]) { $1 } } }
        }
        return out
    }

    @Test(arguments: CompatibilityProfile.all.map(\.name))
    func everyTemplateTypeChecksForEveryCombination(name: String) throws {
        let profile = try #require(CompatibilityProfile.named(name))
        let combinations = Self.combinations(profile)
        // vtd-nested: aw_bits 39/48/57, pasid_bits 0/20, three bools; smmuv3-nested: oas_bits 44/48, ssid_bits 0/20, one bool;
        // amd-nested: guest_levels 4/5
        #expect(combinations.count == ["vtd-nested": 48, "smmuv3-nested": 8, "amd-nested": 2][name])
        for arguments in combinations {
            let e = try profile.expand(arguments)
            // Every condition is either expanded or skipped, once, in profile order.
            let ids = profile.conditions.map(\.id)
            #expect(e.conditions.map(\.id) == ids.filter { !e.skipped.contains($0) })
            #expect(Set(e.skipped).isSubset(of: ids) && e.conditions.count + e.skipped.count == ids.count)
            for c in e.conditions {
                #expect(!c.text.contains("{"), "unsubstituted parameter in \(c.id): \(c.text)")
                for term in c.expression.terms {
                    guard case .fact(let fact, let type) = term else { Issue.record("\(c.id) uses \(term), not a fact"); continue }
                    #expect(Vocabulary.byName[fact]?.type == type, "\(c.id): \(fact)")
                }
            }
            #expect(e.expression == .and(e.conditions.flatMap { c -> [QueryExpr] in if case .and(let p) = c.expression { p } else { [c.expression] } }))
        }
    }

    @Test func defaultsFollowQEMU() throws {
        let e = try CompatibilityProfile.expand("vtd-nested")
        #expect(e.conditions.map(\.id) == ["iommufd-vtd", "scalable-mode", "nest", "kernel-nest-parent", "second-stage", "first-stage", "address-width", "fs1gp"])
        #expect(e.skipped == ["five-level", "pasid-width", "device-pasid-width", "dirty-tracking", "errata-ro"])
        #expect(e.arguments == ["aw_bits": .int(48), "pasid_bits": .int(0), "fs1gp": .bool(true), "dirty_tracking": .bool(false), "strict_ro": .bool(false)])
        #expect(e.conditions.first { $0.id == "address-width" }?.text == "vfio.iova_top_bits >= 48")
        #expect(e.expression.description == #"(iommufd.data_type = "intel-vtd" and vtd.scalable_mode = true and vtd.ecap.nest = true and nesting = true and vtd.ecap.slts = true and vtd.ecap.flts = true and vfio.iova_top_bits >= 48 and vtd.cap.fl1gp = true)"#)
    }

    /// The issue's example, and the parameters that switch conditions on and off.
    @Test func argumentsSelectConditions() throws {
        let e = try CompatibilityProfile.expand("vtd-nested", arguments: ["aw_bits": .int(48), "pasid_bits": .int(20)])
        #expect(e.conditions.first { $0.id == "pasid-width" }?.text == "vtd.ecap.pasid and vtd.pasid_bits >= 20 and pasid_bits >= 20")
        let wide = try CompatibilityProfile.expand("vtd-nested", arguments: ["aw_bits": .int(57), "fs1gp": .bool(false), "dirty_tracking": .bool(true), "strict_ro": .bool(true)])
        #expect(wide.conditions.map(\.id) == ["iommufd-vtd", "scalable-mode", "nest", "kernel-nest-parent", "second-stage", "first-stage", "address-width", "five-level", "dirty-tracking", "errata-ro"])
        #expect(wide.skipped == ["fs1gp", "pasid-width", "device-pasid-width"])
        #expect(wide.conditions.first { $0.id == "dirty-tracking" }?.expression.description == "(vtd.ecap.slads = true and vtd.ecap.smpwc = true and dirty_tracking = true)")
    }

    // MARK: refusals

    func refusal(_ name: String, _ arguments: [String: QueryLiteral] = [:]) -> ProfileError? {
        do {
            _ = try CompatibilityProfile.expand(name, arguments: arguments)
            return nil
        } catch {
            return error
        }
    }

    @Test func unknownProfileNamesTheNearest() throws {
        let e = try #require(refusal("vtd-nestd"))
        #expect(e.kind == .unknownProfile)
        #expect(e.argument == nil)
        #expect(e.suggestions == ["vtd-nested", "amd-nested"])
        #expect(e.message == "unknown profile 'vtd-nestd'; did you mean vtd-nested, amd-nested? (known: vtd-nested, smmuv3-nested, amd-nested)")
        let q = e.queryError(at: 8)
        #expect(q.kind == .unknownName && q.position == 8 && q.suggestions == ["vtd-nested", "amd-nested"])
        #expect(try #require(refusal("smmu")).suggestions.isEmpty)
    }

    @Test func unknownParameterNamesTheNearest() throws {
        let e = try #require(refusal("vtd-nested", ["aw_bit": .int(48)]))
        #expect(e.kind == .unknownParameter)
        #expect(e.argument == "aw_bit")
        #expect(e.suggestions == ["aw_bits"])
        #expect(e.message.hasPrefix("profile vtd-nested has no parameter 'aw_bit'; did you mean aw_bits?"))
        #expect(e.queryError(at: 3).kind == .unknownName)
    }

    struct BadArgument: Sendable, CustomTestStringConvertible {
        var arguments: [String: QueryLiteral]
        var kind: ProfileError.Kind
        var argument: String
        var message: String
        var testDescription: String { message }
    }

    static let badArguments: [BadArgument] = [
        BadArgument(arguments: ["aw_bits": .text("48")], kind: .wrongType, argument: "aw_bits", message: #"vtd-nested: aw_bits is int: expected an integer, found "48""#),
        BadArgument(arguments: ["fs1gp": .int(1)], kind: .wrongType, argument: "fs1gp", message: "vtd-nested: fs1gp is bool: expected true or false, found 1"),
        BadArgument(arguments: ["aw_bits": .int(64)], kind: .outOfRange, argument: "aw_bits", message: "vtd-nested: aw_bits = 64 is outside 39...57"),
        BadArgument(arguments: ["pasid_bits": .int(-1)], kind: .outOfRange, argument: "pasid_bits", message: "vtd-nested: pasid_bits = -1 is outside 0...20"),
        BadArgument(arguments: ["pasid_bits": .int(21)], kind: .outOfRange, argument: "pasid_bits", message: "vtd-nested: pasid_bits = 21 is outside 0...20"),
    ]

    @Test(arguments: badArguments)
    func badArgumentsAreTypeErrors(_ bad: BadArgument) throws {
        let e = try #require(refusal("vtd-nested", bad.arguments))
        #expect(e.kind == bad.kind)
        #expect(e.argument == bad.argument)
        #expect(e.message == bad.message)
        #expect(e.queryError(at: 5).kind == .type)
    }

    // MARK: evaluation over real hosts

    static let captures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/captures")

    static func text(_ folder: String, _ path: String) throws -> String {
        try String(contentsOf: captures.appendingPathComponent(folder).appendingPathComponent(path), encoding: .utf8)
    }

    static func hex(_ text: some StringProtocol) -> [UInt8] {
        let digits = Array(text.filter(\.isHexDigit))
        return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    /// What a host running that capture's kernel reports: sysfs registers, the VFIO type1 info and,
    /// where the kernel had iommufd, IOMMU_GET_HW_INFO (struct and data as the probe printed them).
    static func captureHost(_ folder: String) throws -> [String: FactValue] {
        let dir = "sysfs/class/iommu/dmar0/intel-iommu/"
        var facts = try VTdRegisters.decode(capText: try text(folder, dir + "cap"), ecapText: try text(folder, dir + "ecap"))
        facts += try VFIOInfo.decode(hex(try text(folder, "vfio-info.hex"))).facts
        let console = try text(folder, "console.txt").split(separator: "\n")
        func line(_ key: String) -> [UInt8]? { console.first { $0.hasPrefix(key + " ") }.map { hex($0.dropFirst(key.count)) } }
        if let info = line("iommufd.hw_info_hex"), let data = line("iommufd.hw_info_data_hex") {
            facts += try IOMMUFDHWInfo.decode(info: info, data: data).facts
        }
        return Dictionary(facts.map { ($0.name, $0.value) }) { $1 }
    }

    /// cap/ecap a VT-d 6.0 host printed at boot ("dmar0: ... ver 6:0 cap 9ed008c40780466 ecap 3ee9e86f050df",
    /// a public dmesg excerpt): NEST, SMTS, FLTS, SLTS, SLADS, SMPWC, FL1GP; no FL5LP; PSS 19 but ECAP.PASID clear.
    static let realCap: UInt64 = 0x9ed008c40780466, realEcap: UInt64 = 0x3ee9e86f050df

    /// That host as a collector with iommufd would report it: the VT-d data the driver builds from the
    /// registers (flags = SPR17 erratum, set on every unit), wrapped in the struct of the real iommufd
    /// capture, and an IOVA top at 48 bits (assumed: a 4-level second stage, as in scalable-aw48).
    static func nestingHost(cap: UInt64 = realCap, ecap: UInt64 = realEcap) throws -> [String: FactValue] {
        var info = hex("28000000000000000100000018000000000000000000000001000000000000000000000000000000")
        // A 6.15+ kernel with a PASID-capable device reports the device's width at byte 28.
        if ecap & (1 << 40) != 0 { info[28] = UInt8((ecap >> 35) & 0x1f) + 1 }
        var data: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0]
        for register in [cap, ecap] { data += (0..<8).map { UInt8(truncatingIfNeeded: register >> (8 * UInt64($0))) } }
        var facts = try IOMMUFDHWInfo.decode(info: info, data: data).facts
        facts.append(Fact("vfio.iova_top_bits", int: 48))
        // The usable half as Report/UsableFacts derives it when the kernel allowed the nest parent and
        // the dirty-tracking HWPT (SLADS, SMPWC), and the PASID one exactly when the unit has ECAP.PASID.
        let pasidBits = facts.first { $0.name == "hw.pasid_bits" }?.value ?? .int(0)
        facts += [Fact("nesting", true), Fact("pasid_bits", pasidBits), Fact("dirty_tracking", true)]
        return Dictionary(facts.map { ($0.name, $0.value) }) { $1 }
    }

    func evaluate(_ facts: [String: FactValue], _ arguments: [String: QueryLiteral] = [:]) throws -> (Bool?, [String: Bool?]) {
        let e = try CompatibilityProfile.expand("vtd-nested", arguments: arguments)
        let host = QueryEvaluator(facts: facts, kernelRelease: nil, labels: [:])
        return (host.evaluate(e.expression), Dictionary(uniqueKeysWithValues: e.conditions.map { ($0.id, host.evaluate($0.expression)) }))
    }

    struct CaptureCase: Sendable, CustomTestStringConvertible {
        var folder: String
        var conditions: [String: Bool?]
        var testDescription: String { folder }
    }

    /// None of QEMU's emulated units reports ECAP.NEST, so none can back a nested vIOMMU: each fails
    /// (false, not unknown) on what it did report, whatever it left unknown.
    static let captureCases: [CaptureCase] = [
        CaptureCase(folder: "legacy-aw39", conditions: ["kernel-nest-parent": nil, "iommufd-vtd": nil, "scalable-mode": false, "nest": false, "second-stage": false,
                                                         "first-stage": false, "address-width": false, "fs1gp": false]),
        CaptureCase(folder: "bpo12k-q10-legacy-aw39", conditions: ["kernel-nest-parent": nil, "iommufd-vtd": nil, "scalable-mode": false, "nest": false, "second-stage": false,
                                                                    "first-stage": false, "address-width": false, "fs1gp": false]),
        CaptureCase(folder: "scalable-aw48", conditions: ["kernel-nest-parent": nil, "iommufd-vtd": nil, "scalable-mode": true, "nest": false, "second-stage": true,
                                                           "first-stage": false, "address-width": true, "fs1gp": false]),
        // FLTS-only unit: its top IOVA is 0x7fffffffffff, so QEMU's aw-bits 48 > host 47 check fails too.
        CaptureCase(folder: "iommufd-q10-scalable-flts", conditions: ["kernel-nest-parent": nil, "iommufd-vtd": true, "scalable-mode": true, "nest": false, "second-stage": false,
                                                                       "first-stage": true, "address-width": false, "fs1gp": true]),
    ]

    @Test(arguments: captureCases)
    func realCapturesFail(_ c: CaptureCase) throws {
        let (whole, conditions) = try evaluate(try Self.captureHost(c.folder))
        #expect(whole == false)
        #expect(conditions == c.conditions)
    }

    @Test func flts_only_capture_fits_a_narrower_guest_but_still_lacks_nest() throws {
        let (whole, conditions) = try evaluate(try Self.captureHost("iommufd-q10-scalable-flts"), ["aw_bits": .int(39)])
        #expect(conditions["address-width"] == true)
        #expect(whole == false)
    }

    @Test func nestingCapableHostMatchesWithDefaults() throws {
        let host = try Self.nestingHost()
        let (whole, conditions) = try evaluate(host)
        #expect(whole == true)
        #expect(conditions.values.allSatisfy { $0 == true })
        #expect(try evaluate(host, ["dirty_tracking": .bool(true)]).0 == true)
    }

    /// What the host cannot give fails: 57-bit guests (no FL5LP, IOVA top 48), PASIDs (ECAP.PASID clear),
    /// enforced read-only mappings (erratum flag set), dirty tracking once SMPWC is cleared.
    @Test func beyondTheHostFails() throws {
        let host = try Self.nestingHost()
        let (wide, wideConditions) = try evaluate(host, ["aw_bits": .int(57)])
        #expect(wide == false)
        #expect(wideConditions["address-width"] == false && wideConditions["five-level"] == false)
        let (pasid, pasidConditions) = try evaluate(host, ["aw_bits": .int(48), "pasid_bits": .int(20)])
        #expect(pasid == false && pasidConditions["pasid-width"] == false)
        #expect(try evaluate(host, ["strict_ro": .bool(true)]).1["errata-ro"] == false)
        let noSMPWC = try Self.nestingHost(ecap: Self.realEcap & ~(UInt64(1) << 48))
        #expect(try evaluate(noSMPWC, ["dirty_tracking": .bool(true)]).1["dirty-tracking"] == false)
        #expect(try evaluate(noSMPWC).0 == true)
        #expect(try evaluate(host, ["fs1gp": .bool(true)]).0 == true)
    }

    /// The same registers with ECAP.PASID set: with their PSS 19 a 20-bit guest fits; with PSS 15
    /// (16-bit PASIDs) a 20-bit guest is refused and a 16-bit one accepted.
    @Test func pasidWiderThanTheHostFails() throws {
        let withPasid = Self.realEcap | (UInt64(1) << 40)
        #expect(try evaluate(try Self.nestingHost(ecap: withPasid), ["pasid_bits": .int(20)]).0 == true)
        let pss15 = (withPasid & ~(UInt64(0x1f) << 35)) | (UInt64(15) << 35)
        let host = try Self.nestingHost(ecap: pss15)
        #expect(host["vtd.pasid_bits"] == .int(16))
        #expect(try evaluate(host, ["pasid_bits": .int(20)]).0 == false)
        #expect(try evaluate(host, ["pasid_bits": .int(16)]).0 == true)
    }

    /// A fact the host never reported leaves the profile unknown, never true: sysfs registers alone
    /// (no iommufd, no VFIO), or one fact dropped from an otherwise matching host.
    @Test func missingFactsAreUnknown() throws {
        let sysfsOnly = Dictionary(VTdRegisters.decode(cap: Self.realCap, ecap: Self.realEcap).map { ($0.name, $0.value) }) { $1 }
        let (whole, conditions) = try evaluate(sysfsOnly)
        #expect(whole == nil)
        #expect(conditions["iommufd-vtd"] == .some(nil) && conditions["address-width"] == .some(nil) && conditions["nest"] == true)
        for fact in ["vtd.ecap.nest", "vtd.scalable_mode", "vfio.iova_top_bits", "iommufd.data_type", "vtd.cap.fl1gp"] {
            var host = try Self.nestingHost()
            host[fact] = nil
            #expect(try evaluate(host).0 == nil, "without \(fact)")
        }
        var noPasidFacts = try Self.nestingHost(ecap: Self.realEcap | (UInt64(1) << 40))
        noPasidFacts["vtd.ecap.pasid"] = nil
        noPasidFacts["vtd.pasid_bits"] = nil
        #expect(try evaluate(noPasidFacts, ["pasid_bits": .int(20)]).0 == nil)
        #expect(try evaluate(noPasidFacts).0 == true)
    }
}

extension QueryLiteral {
    var intValue: Int64? { if case .int(let i) = self { i } else { nil } }
}
