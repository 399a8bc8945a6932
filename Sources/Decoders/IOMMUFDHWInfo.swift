/// iommufd `IOMMU_GET_HW_INFO` (fact sheet §3): `struct iommu_hw_info` (32 bytes in 6.6, 40 from 6.7)
/// and the type-specific data the kernel wrote to data_uptr.
public struct IOMMUFDHWInfo: Hashable, Sendable {
    public enum DataType: UInt32, Sendable {
        case none = 0, intelVTd = 1, armSMMUv3 = 2, tegra241CMDQV = 3, amd = 4
        var name: String {
            switch self {
            case .none: return "none"
            case .intelVTd: return "intel-vtd"
            case .armSMMUv3: return "arm-smmuv3"
            case .tegra241CMDQV: return "tegra241-cmdqv"
            case .amd: return "amd"
            }
        }
    }

    /// `flags` bit 0 (6.17+): the caller named the data type it wanted in `in_data_type` (+24).
    public static let flagInputType: UInt32 = 1 << 0

    public var size: UInt32
    public var flags: UInt32
    public var devId: UInt32
    public var dataLen: UInt32
    public var outDataType: UInt32
    /// Byte 28: out_max_pasid_log2 from 6.15 (a reserved zero before; decoded the same either way).
    public var outMaxPasidLog2: UInt8
    /// nil for the 32-byte 6.6 struct.
    public var outCapabilities: UInt64?
    /// The data_len bytes of type-specific data, kept as given (the only record of an unknown type).
    public var data: [UInt8]
    public var facts: [Fact]
    public var notes: [String]

    /// capreg's own capture form (`--kind iommufd-hw-info`, report source `iommufd`): the struct as the
    /// kernel returned it, immediately followed by the data; the struct's `size` says where the data begins.
    public static func decode(_ blob: [UInt8]) throws(DecodeError) -> IOMMUFDHWInfo {
        let r = ByteReader(blob, context: "iommu_hw_info")
        let size = try structSize(r)
        return try decode(info: r.slice(0, size, "iommu_hw_info"), data: r.slice(size, r.count - size, "type-specific data", context: "iommu_hw_info data"))
    }

    /// `info` holds the struct (bytes past its `size` are ignored, with a note); `data` what the kernel
    /// wrote to data_uptr.
    public static func decode(info: [UInt8], data: [UInt8]) throws(DecodeError) -> IOMMUFDHWInfo {
        let r = ByteReader(info, context: "iommu_hw_info")
        let size = try structSize(r)
        var out = try decode(info: r.slice(0, size, "iommu_hw_info"), data: ByteReader(data, context: "iommu_hw_info data"))
        if r.count > size { out.notes.append("\(r.count - size) bytes after the \(size)-byte struct its size field names were ignored") }
        return out
    }

    /// The struct's own size: 32 (6.6) or 40 and up (6.7+), and no more than the bytes given.
    static func structSize(_ r: ByteReader) throws(DecodeError) -> Int {
        let size = Int(try r.u32(0, "size"))
        guard size == 32 || size >= 40 else {
            throw DecodeError(.badValue, offset: r.base, expected: "size 32 (6.6) or 40 and up (6.7+)", found: String(size), context: r.context)
        }
        guard size <= r.count else {
            throw DecodeError(.sizeMismatch, offset: r.base, expected: "at least the \(size) bytes the size field names", found: "\(r.count)", context: r.context)
        }
        return size
    }

    /// `r` is exactly the struct (its size already checked).
    static func decode(info r: ByteReader, data: ByteReader) throws(DecodeError) -> IOMMUFDHWInfo {
        var out = IOMMUFDHWInfo(size: try r.u32(0, "size"), flags: try r.u32(4, "flags"), devId: try r.u32(8, "dev_id"), dataLen: try r.u32(12, "data_len"),
                                outDataType: try r.u32(24, "out_data_type"), outMaxPasidLog2: try r.u8(28, "out_max_pasid_log2"),
                                outCapabilities: r.count >= 40 ? try r.u64(32, "out_capabilities") : nil, data: [], facts: [], notes: [])
        // The kernel writes its own struct length to data_len and zero-fills the caller's buffer after it.
        guard Int(out.dataLen) <= data.count else {
            throw DecodeError(.truncated, offset: data.base + data.count, expected: "\(out.dataLen) bytes of type-specific data as data_len says",
                              found: "\(data.count)", context: data.context)
        }
        let payload = try data.slice(0, Int(out.dataLen), "data")
        out.data = Array(payload.bytes)
        if out.flags & ~Self.flagInputType != 0 {
            out.notes.append("flags \(hex(UInt64(out.flags))) has bits no kernel defines (6.17 defines bit 0, IOMMU_HW_INFO_FLAG_INPUT_TYPE)")
        }
        let type = DataType(rawValue: out.outDataType)
        var facts = [Fact("iommufd.max_pasid_log2", int: out.outMaxPasidLog2)]
        // A type asked for (6.17+) is a second answer of the unit: iommufd.data_type stays the driver's
        // default type, which the unit's other answer carries, so that its host does not show two types.
        if out.flags & Self.flagInputType == 0 {
            facts += [Fact("iommufd.data_type", text: type?.name ?? "unknown-\(out.outDataType)"), Fact("iommufd.data_type_id", int: out.outDataType)]
        } else {
            out.notes.append("data type \(out.outDataType) was asked for with IOMMU_HW_INFO_FLAG_INPUT_TYPE: iommufd.data_type is left to the unit's default answer")
        }
        if let caps = out.outCapabilities {
            for (bit, name) in [(0, "dirty_tracking"), (1, "pci_pasid_exec"), (2, "pci_pasid_priv"), (3, "pci_ats_not_supported")] {
                facts.append(Fact("iommufd.cap.\(name)", caps & (1 << UInt64(bit)) != 0))
            }
        }
        /// The first `length` bytes of the data; a longer data_len (a newer struct) is noted, not an error.
        func known(_ length: Int, _ name: String) throws(DecodeError) -> ByteReader {
            guard payload.count >= length else {
                throw DecodeError(.truncated, offset: payload.base + payload.count, expected: "\(length) bytes of \(name)", found: "data_len \(payload.count)", context: payload.context)
            }
            if payload.count > length { out.notes.append("data_len \(payload.count) is longer than the \(length)-byte \(name); the extra bytes are not decoded") }
            return try payload.slice(0, length, name)
        }
        switch type {
        case .none?:
            break
        case .intelVTd?:
            let vtd = try known(24, "iommu_hw_info_vtd")
            facts.append(Fact("iommufd.vtd.errata_772415_spr17", try vtd.u32(0, "flags") & 1 != 0))
            facts += VTdRegisters.decode(cap: try vtd.u64(8, "cap_reg"), ecap: try vtd.u64(16, "ecap_reg"))
        case .armSMMUv3? where payload.count == 16:
            // Pre-merge AMD patches numbered AMD 2; SMMUv3's struct is 40 bytes (32 in drafts), AMD's 16.
            out.notes.append("data type 2 is ambiguous: with 16 bytes of data it is read as AMD EFR/EFR2 from a kernel with the pre-merge AMD patches (AMD was 2 there), not SMMUv3 (40 bytes)")
            facts += AMDRegisters.decode(efr: try payload.u64(0, "efr"), efr2: try payload.u64(8, "efr2"))
        case .armSMMUv3? where payload.count == 32:
            out.notes.append("SMMUv3 data of 32 bytes: the pre-merge (2023) layout without IIDR and AIDR")
            facts += try SMMUv3Registers.decode(payload, draftLayout: true)
        case .armSMMUv3?:
            facts += try SMMUv3Registers.decode(try known(40, "iommu_hw_info_arm_smmuv3"))
        case .tegra241CMDQV?:
            // An SMMUv3 with NVIDIA's CMDQV extension answers its default type (SMMUv3 registers) unless
            // asked for this one with IOMMU_HW_INFO_FLAG_INPUT_TYPE (6.17+): a second answer for the unit.
            out.notes.append("Tegra241 CMDQV data of an SMMUv3 unit" + (out.flags & Self.flagInputType != 0
                ? "; its SMMUv3 ID registers are in the unit's default (arm-smmuv3) answer"
                : ", returned as the driver's default type (not asked for with IOMMU_HW_INFO_FLAG_INPUT_TYPE)"))
            let tegra = try known(8, "iommu_hw_info_tegra241_cmdqv")
            facts.append(Fact("iommufd.tegra241.flags", hex: UInt64(try tegra.u32(0, "flags"))))
            facts.append(Fact("iommufd.tegra241.version", int: try tegra.u8(4, "version")))
            facts.append(Fact("iommufd.tegra241.log2vcmdqs", int: try tegra.u8(5, "log2vcmdqs")))
            facts.append(Fact("iommufd.tegra241.log2vsids", int: try tegra.u8(6, "log2vsids")))
        case .amd?:
            let amd = try known(16, "iommu_hw_info_amd")
            facts += AMDRegisters.decode(efr: try amd.u64(0, "efr"), efr2: try amd.u64(8, "efr2"))
        case nil:
            out.notes.append("data type \(out.outDataType) is not known to this decoder; its \(payload.count) bytes are kept raw")
        }
        out.facts = facts
        return out
    }

    public static let vocabulary: [VocabularyEntry] = [
        VocabularyEntry("iommufd.data_type", .text, "Type of the vendor data: `none`, `intel-vtd`, `arm-smmuv3`, `tegra241-cmdqv`, `amd`, or `unknown-N`. The driver's default type: an answer to a request for a specific type (IOMMU_HW_INFO_FLAG_INPUT_TYPE, e.g. a Tegra241 SMMUv3 asked for `tegra241-cmdqv`) leaves it out and carries that type's facts only.", source: "iommu_hw_info.out_data_type (+24), when flags bit 0 (INPUT_TYPE) is clear"),
        VocabularyEntry("iommufd.data_type_id", .int, "The raw out_data_type number behind `iommufd.data_type`.", source: "iommu_hw_info.out_data_type (+24)"),
        VocabularyEntry("iommufd.max_pasid_log2", .int, "PASID width the device negotiated with the IOMMU (min of device and IOMMU), in bits; 0 = none or a pre-6.15 kernel. Differs from the IOMMU's raw width in `pasid_bits`.", source: "iommu_hw_info byte 28 (6.15+)"),
        VocabularyEntry("iommufd.cap.dirty_tracking", .bool, "The IOMMU can track dirty pages for this device.", source: "out_capabilities bit 0 (6.7+)"),
        VocabularyEntry("iommufd.cap.pci_pasid_exec", .bool, "The device's PCI PASID capability has Execute Permission.", source: "out_capabilities bit 1 (6.15+)"),
        VocabularyEntry("iommufd.cap.pci_pasid_priv", .bool, "The device's PCI PASID capability has Privileged Mode.", source: "out_capabilities bit 2 (6.15+)"),
        VocabularyEntry("iommufd.cap.pci_ats_not_supported", .bool, "ATS is NOT usable for the device (negative sense; bit position unverified).", source: "out_capabilities bit 3 (after 6.19-rc1)"),
        VocabularyEntry("iommufd.vtd.errata_772415_spr17", .bool, "Read-only mappings must not be used in a nesting parent (Sapphire Rapids erratum); the 6.7 driver sets it on every unit, so it says nothing about the CPU.", source: "iommu_hw_info_vtd.flags bit 0"),
        VocabularyEntry("iommufd.tegra241.flags", .text, "Tegra241 CMDQV flags word, hex (no bits defined).", source: "iommu_hw_info_tegra241_cmdqv +0"),
        VocabularyEntry("iommufd.tegra241.version", .int, "Tegra241 CMDQV version.", source: "iommu_hw_info_tegra241_cmdqv +4"),
        VocabularyEntry("iommufd.tegra241.log2vcmdqs", .int, "log2 of the virtual command queues per VINTF.", source: "iommu_hw_info_tegra241_cmdqv +5"),
        VocabularyEntry("iommufd.tegra241.log2vsids", .int, "log2 of the virtual SIDs per VINTF.", source: "iommu_hw_info_tegra241_cmdqv +6"),
    ]
}
