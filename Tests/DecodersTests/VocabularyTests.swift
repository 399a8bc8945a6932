import Foundation
import Testing
@testable import Decoders

@Suite struct VocabularyTests {
    @Test func namesAreUniqueDottedAndLowercase() {
        var seen = Set<String>()
        for e in Vocabulary.all {
            #expect(seen.insert(e.name).inserted, "duplicate vocabulary name \(e.name)")
            #expect(e.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "." || $0 == "_" }, "\(e.name) is not lowercase dotted")
            #expect(!e.meaning.isEmpty && !e.source.isEmpty, "\(e.name) lacks a meaning or source")
        }
    }

    /// Every fact any decoder emits on the real captures is in the vocabulary, with the declared type.
    @Test func everyEmittedFactIsDocumentedWithItsType() throws {
        var facts: [Fact] = []
        for folder in Captures.folders {
            facts += try BlobDecoder.decode(.vfioInfo, bytes: try Captures.hexFile(folder, "vfio-info.hex")).facts
            let dir = "sysfs/class/iommu/dmar0/intel-iommu/"
            let text = try Captures.text(folder, dir + "cap") + " " + Captures.text(folder, dir + "ecap")
            facts += try BlobDecoder.decode(.vtdRegs, bytes: [], registerText: text).facts
        }
        #expect(facts.count > 100)
        for fact in facts {
            let entry = Vocabulary.entry(fact.name)
            #expect(entry != nil, "\(fact.name) is emitted but not in the vocabulary")
            #expect(entry == nil || entry!.type == fact.value.type, "\(fact.name) declared \(entry!.type) but emitted \(fact.value.type)")
        }
    }

    /// The same for what the captures do not reach: AMD with EFR2, SMMUv3 with FWB, nesting info with
    /// the v2 masks, Tegra241 data asked for by type, a VFIO chain with IOVA windows.
    @Test func composedBlobsEmitOnlyVocabularyNames() throws {
        var amd = IOMMUFDHWInfoTests.hw(dataLen: 16, type: 4)
        amd.u64(0x206d_73ef_2225_4ade); amd.u64(0xb8)  // EFR2: GCR3TRPMODE, GAPPIDISSUP, SNPAVIC 5
        var smmu = IOMMUFDHWInfoTests.hw(dataLen: 40, type: 2, pasidLog2: 20)
        smmu.u32(0); smmu.u32(0)
        for idr: UInt32 in [0b11 | 1 << 10, 20 << 6 | 16, 0, 1 << 8 | 1 << 10, 0, 7] { smmu.u32(idr) }
        smmu.u32(0x43b); smmu.u32(0x2)
        var tegra = IOMMUFDHWInfoTests.hw(flags: 1, dataLen: 8, type: 3)
        tegra.u32(0); tegra.bytes += [1, 2, 4, 0]
        var v2 = NestingCapabilityTests.header(id: 2)
        v2.u32(0); v2.u32(56); v2.u32(1); v2.u32(0x7); v2.u32(0); v2.u32(0); v2.u16(48); v2.u16(20)
        v2.u64(1 << 56); v2.u64(0x1100_0000_0000_0000); v2.u64(1 << 40); v2.u64(0x104_e000_0000)
        var facts: [Fact] = []
        for blob in [amd.bytes, smmu.bytes, tegra.bytes] { facts += try BlobDecoder.decode(.iommufdHWInfo, bytes: blob).facts }
        facts += try BlobDecoder.decode(.vfioInfo, bytes: NestingCapabilityTests.buffer(capability: v2.bytes), kernel: KernelRelease("5.7.0")).facts
        facts += try BlobDecoder.decode(.vfioInfo, bytes: VFIOFieldsTests.chain(windows: [(0, 0xfed_fffff), (0xfef0_0000, 0xffff_ffff_ffff)])).facts
        let names = Set(facts.map(\.name))
        for name in ["amd.nest_parent_supported", "amd.efr2.gappidis", "smmu.viommu_cache_ok", "smmu.oas_bits", "iommufd.tegra241.flags",
                     "nesting.vtd.cap_mask", "nesting.size", "vfio.iova_windows", "vfio.migration.flags"] {
            #expect(names.contains(name), "\(name) not emitted")
        }
        for fact in facts {
            let entry = Vocabulary.entry(fact.name)
            #expect(entry != nil, "\(fact.name) is emitted but not in the vocabulary")
            #expect(entry == nil || entry!.type == fact.value.type, "\(fact.name) declared \(entry!.type) but emitted \(fact.value.type)")
        }
    }

    /// docs/capabilities.md is generated from the vocabulary; regenerate with
    /// `swift run capreg vocabulary --markdown > docs/capabilities.md`.
    @Test func capabilitiesDocumentIsCurrent() throws {
        let repoDocs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/capabilities.md")
        let text = try String(contentsOf: repoDocs, encoding: .utf8)
        #expect(text == VocabularyDocument.markdown(), "docs/capabilities.md is stale: regenerate it with capreg vocabulary --markdown")
    }
}
