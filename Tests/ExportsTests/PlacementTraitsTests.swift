import Decoders
@testable import Exports
import Query
import Testing

/// Placement traits from facts: each trait holds exactly when the question it stands for holds.
@Suite struct PlacementTraitsTests {
    /// Hosts of every shape the traits tell apart: vendors, formats, widths, unknowns.
    static let hosts: [[String: FactValue]] = {
        var out: [[String: FactValue]] = [[:]]
        for vendor in ["intel", "amd", "arm"] {
            for nesting in [true, false] {
                for bits: Int64? in [nil, 0, 5, 8, 16, 19, 20] {
                    var f: [String: FactValue] = [CrossVendor.vendor: .text(vendor), CrossVendor.nesting: .bool(nesting),
                                                  CrossVendor.pasidBind: .bool(nesting), CrossVendor.addrWidth: .int(bits == nil ? 39 : 48),
                                                  CrossVendor.dirtyTracking: .bool(!nesting)]
                    if let bits { f[CrossVendor.pasidBits] = .int(bits) }
                    f[CrossVendor.firstLevelFormat] = .text(nesting ? (vendor == "intel" ? "intel-vtd" : vendor == "amd" ? "amd-v2" : "arm-smmuv3") : "none")
                    out.append(f)
                }
            }
        }
        return out
    }()

    @Test func everyTraitHoldsExactlyWhenItsQuestionDoes() throws {
        var seen = Set<String>()
        for facts in Self.hosts {
            let traits = Set(PlacementTraits.of(facts: facts, kernelRelease: "6.12.0"))
            seen.formUnion(traits)
            for trait in PlacementTraits.all {
                guard let question = PlacementTraits.question(for: trait) else { continue }
                let holds = QueryEvaluator(facts: facts, kernelRelease: "6.12.0", labels: [:]).matches(try QueryParser.parse(question))
                #expect(traits.contains(trait) == holds, "\(trait) vs \(question) on \(facts)")
            }
        }
        #expect(seen.contains("CUSTOM_CAPREG_PASID_BITS_GE_20") && seen.contains("CUSTOM_CAPREG_NESTING"))
        #expect(seen.contains("CUSTOM_CAPREG_FIRST_LEVEL_FORMAT_INTEL_VTD") && seen.contains("CUSTOM_CAPREG_IOMMU_VENDOR_AMD"))
    }

    @Test func namesAreCustomTraitsAndCapregs() {
        for trait in PlacementTraits.all {
            #expect(trait.hasPrefix("CUSTOM_CAPREG_") && trait.count <= 255)
            #expect(trait.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }, "\(trait)")
        }
        #expect(Set(PlacementTraits.all).count == PlacementTraits.all.count)
        #expect(PlacementTraits.part("first_level.format") == "FIRST_LEVEL_FORMAT")
        #expect(PlacementTraits.part("intel-vtd") == "INTEL_VTD")
    }

    @Test func unknownAndFalseGiveNoTrait() {
        #expect(PlacementTraits.of(facts: [:], kernelRelease: nil).isEmpty)
        let f: [String: FactValue] = [CrossVendor.nesting: .bool(false), CrossVendor.pasidBits: .int(0)]
        #expect(PlacementTraits.of(facts: f, kernelRelease: nil).isEmpty)
    }
}
