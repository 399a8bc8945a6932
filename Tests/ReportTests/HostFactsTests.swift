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

    /// An address is usable on the host only if every container maps it: windows are intersected, not
    /// joined as distinct texts.
    @Test func iovaWindowsCombineToWhatEveryContainerMaps() {
        let aw48 = "0x0-0xfedfffff,0xfef00000-0xffffffffffff", aw39 = "0x0-0xfedfffff,0xfef00000-0x7fffffffff"
        func combined(_ texts: [String]) -> FactValue? {
            let records = texts.enumerated().map { record("vfio-group-\($0.offset)", [Fact(VFIOInfo.iovaWindows, text: $0.element)]) }
            return HostFacts.combine(records).first { $0.name == VFIOInfo.iovaWindows }?.value
        }
        #expect(combined([aw48]) == .text(aw48))
        #expect(combined([aw48, aw48]) == .text(aw48))
        #expect(combined([aw48, aw39]) == .text(aw39))
        #expect(combined([aw39, aw48, ""]) == .text(""), "a container with no window leaves none")
        #expect(combined([aw48, "0x1000-0xfeefffff"]) == .text("0x1000-0xfedfffff"))
        #expect(combined([aw48, "garbage"]) == .text("\(aw48),garbage"), "not a window list: the usual text rule (covers() is then unknown)")
    }

    /// iommufd's out_max_pasid_log2 is per device (one record per device cdev): the host keeps the
    /// smallest, and each record keeps its own.
    @Test func maxPasidLog2IsPerDeviceAndTheHostKeepsTheMinimum() throws {
        func hwInfo(pasidLog2: UInt8) -> [UInt8] {
            var b: [UInt8] = [40, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]  // size 40, flags 0, dev_id 1, data_len 0
            b += [UInt8](repeating: 0, count: 8)                                    // data_uptr
            b += [0, 0, 0, 0, pasidLog2, 0, 0, 0]                                   // out_data_type NONE, out_max_pasid_log2
            b += [UInt8](repeating: 0, count: 8)                                    // out_capabilities
            return b
        }
        let records = try [(1, 20), (2, 8), (3, 16)].flatMap { unit, log2 in
            try SourceDecoder.records(Report.Source(kind: .iommufd, unit: "vfio\(unit)", raw: hwInfo(pasidLog2: UInt8(log2))), kernel: nil)
        }
        #expect(records.map { $0.facts.first { $0.name == "iommufd.max_pasid_log2" }?.value } == [.int(20), .int(8), .int(16)])
        #expect(HostFacts.combine(records).first { $0.name == "iommufd.max_pasid_log2" }?.value == .int(8))
    }
}
