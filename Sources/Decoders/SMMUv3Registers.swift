/// Arm SMMUv3 ID registers (fact sheet §6.2) as iommufd's `struct iommu_hw_info_arm_smmuv3` carries
/// them. The uAPI says only some fields are meant for guests; the rest may be masked by the kernel.
public enum SMMUv3Registers {
    static let idr0Fields: [RegisterField] = [
        RegisterField("smmu.idr0.s2p", bit: 0, "Stage-2 translation."),
        RegisterField("smmu.idr0.s1p", bit: 1, "Stage-1 translation (nesting needs S1P and S2P)."),
        RegisterField("smmu.idr0.ttf", bits: 2...3, "Translation table formats: 2 = AArch64, 3 = AArch32 and AArch64."),
        RegisterField("smmu.idr0.cohacc", bit: 4, "Coherent access."),
        RegisterField("smmu.idr0.btm", bit: 5, "Broadcast TLB maintenance."),
        RegisterField("smmu.idr0.httu", bits: 6...7, "Hardware table update: 1 = access flag, 2 = access and dirty (3 = also HAFT in newer kernels)."),
        RegisterField("smmu.idr0.hyp", bit: 9, "Hypervisor stage-1 contexts."),
        RegisterField("smmu.idr0.ats", bit: 10, "The SMMU supports PCIe ATS: devices may cache translations and the SMMU invalidates their ATCs. Whether a given device uses ATS is the device's and the kernel's choice (iommufd.cap.pci_ats_not_supported)."),
        RegisterField("smmu.idr0.asid16", bit: 12, "16-bit ASIDs."),
        RegisterField("smmu.idr0.msi", bit: 13, "MSI support."),
        RegisterField("smmu.idr0.sev", bit: 14, "Wake-up events."),
        RegisterField("smmu.idr0.pri", bit: 16, "PCIe PRI (page requests)."),
        RegisterField("smmu.idr0.vmw", bit: 17, "VMID wildcard (name and position from the Arm spec, no Linux macro: unverified)."),
        RegisterField("smmu.idr0.vmid16", bit: 18, "16-bit VMIDs."),
        RegisterField("smmu.idr0.cd2l", bit: 19, "Two-level context-descriptor tables."),
        RegisterField("smmu.idr0.ttendian", bits: 21...22, "Translation table endianness: 0 = mixed, 2 = little, 3 = big."),
        RegisterField("smmu.idr0.stall_model", bits: 24...25, "Stall model: 0 = stall supported, 1 = no stall, 2 = stall forced."),
        RegisterField("smmu.idr0.term_model", bit: 26, "Terminate model (position from the Arm spec, no Linux macro: unverified)."),
        RegisterField("smmu.idr0.st_level", bits: 27...28, "Stream table levels: 1 = two-level supported."),
    ]
    static let idr1Fields: [RegisterField] = [
        RegisterField("smmu.idr1.sidsize", bits: 0...5, "StreamID width in bits."),
        RegisterField("smmu.idr1.ssidsize", bits: 6...10, "SubstreamID (PASID) width in bits; 0 = no PASID."),
        RegisterField("smmu.idr1.priqs", bits: 11...15, "log2 of the PRI queue size."),
        RegisterField("smmu.idr1.evtqs", bits: 16...20, "log2 of the event queue size."),
        RegisterField("smmu.idr1.cmdqs", bits: 21...25, "log2 of the command queue size."),
        RegisterField("smmu.idr1.attr_types_ovr", bit: 27, "Incoming attribute overrides."),
        RegisterField("smmu.idr1.rel", bit: 28, "Relative base pointers."),
        RegisterField("smmu.idr1.queues_preset", bit: 29, "Queue base addresses are fixed."),
        RegisterField("smmu.idr1.tables_preset", bit: 30, "Table base addresses are fixed."),
    ]
    static let idr3Fields: [RegisterField] = [
        RegisterField("smmu.idr3.fwb", bit: 8, "Stage-2 force write-back (newer headers)."),
        RegisterField("smmu.idr3.ril", bit: 10, "Range invalidation."),
        RegisterField("smmu.idr3.bbml", bits: 11...12, "Break-before-make level (newer headers)."),
    ]
    static let idr5Fields: [RegisterField] = [
        RegisterField("smmu.idr5.oas", bits: 0...2, "Output address size, encoded (see smmu.oas_bits)."),
        RegisterField("smmu.idr5.gran4k", bit: 4, "4 KiB translation granule."),
        RegisterField("smmu.idr5.gran16k", bit: 5, "16 KiB translation granule."),
        RegisterField("smmu.idr5.gran64k", bit: 6, "64 KiB translation granule."),
        RegisterField("smmu.idr5.vax", bits: 10...11, "Virtual address extension: 1 = 52-bit VA."),
        RegisterField("smmu.idr5.stall_max", bits: 16...31, "Maximum outstanding stalled transactions."),
    ]
    static let iidrFields: [RegisterField] = [
        RegisterField("smmu.iidr.implementer", bits: 0...11, "Implementer (JEP106 code)."),
        RegisterField("smmu.iidr.revision", bits: 12...15, "Implementation revision."),
        RegisterField("smmu.iidr.variant", bits: 16...19, "Implementation variant."),
        RegisterField("smmu.iidr.product_id", bits: 20...31, "Product id."),
    ]
    static let aidrFields: [RegisterField] = [
        RegisterField("smmu.aidr.minor", bits: 0...3, "Architecture minor revision (field split from the Arm spec; unverified here)."),
        RegisterField("smmu.aidr.major", bits: 4...7, "Architecture major revision (unverified here)."),
    ]

    /// IDR5.OAS encodings 0–7. 7 (56 bits) is in newer SMMUv3 register headers and QEMU; the Arm spec revision that adds it is unverified.
    static let oasBits = [32, 36, 40, 42, 44, 48, 52, 56]

    /// `idr` is IDR0…IDR5 in order.
    public static func decode(idr: [UInt32], iidr: UInt32?, aidr: UInt32?) throws(DecodeError) -> [Fact] {
        guard idr.count == 6 else {
            throw DecodeError(.sizeMismatch, offset: 0, expected: "6 ID registers (IDR0–IDR5)", found: "\(idr.count)", context: "SMMUv3 ID registers")
        }
        let idr0 = UInt64(idr[0]), idr1 = UInt64(idr[1]), idr3 = UInt64(idr[3]), idr5 = UInt64(idr[5])
        var out = idr0Fields.facts(idr0) + idr1Fields.facts(idr1) + idr3Fields.facts(idr3) + idr5Fields.facts(idr5)
        if let iidr { out += iidrFields.facts(UInt64(iidr)) }
        if let aidr { out += aidrFields.facts(UInt64(aidr)) }
        let oasWidth = oasBits[Int(idr5 & 0x7)]
        out.append(Fact("smmu.oas_bits", int: oasWidth))
        let ssid = Int((idr1 >> 6) & 0x1f)
        if ssid > 0 { out.append(Fact("smmu.pasid_bits", int: ssid)) }

        let s1 = idr0 & 0x2 != 0, s2 = idr0 & 0x1 != 0
        out.append(Fact(CrossVendor.vendor, text: "arm"))
        // vIOMMU allocation refuses a device that cannot prevent cache bypass (no CANWBS from firmware)
        // unless the SMMU has S2FWB: with FWB every device passes; without it, it depends on the device.
        if idr3 & (1 << 8) != 0 { out.append(Fact("smmu.viommu_cache_ok", true)) }
        out.append(Fact(CrossVendor.addrWidth, int: oasWidth))
        if ssid > 0 { out.append(Fact(CrossVendor.hw(CrossVendor.pasidBits), int: ssid)) }
        out.append(Fact(CrossVendor.hw(CrossVendor.nesting), s1 && s2))
        out.append(Fact(CrossVendor.hw(CrossVendor.pasidBind), s1 && s2 && ssid > 0))
        out.append(Fact(CrossVendor.hw(CrossVendor.firstLevelFormat), text: s1 ? CrossVendor.Format.armSMMUv3 : CrossVendor.Format.none))
        let httu = (idr0 >> 6) & 0x3
        out.append(Fact(CrossVendor.hw(CrossVendor.dirtyTracking), httu == 2 || httu == 3))
        return out
    }

    /// The 40-byte `struct iommu_hw_info_arm_smmuv3`: +0 flags, +4 reserved, +8 IDR0–IDR5, +32 IIDR, +36 AIDR.
    public static func decodeBytes(_ bytes: [UInt8]) throws(DecodeError) -> [Fact] {
        try decode(ByteReader(bytes, context: "iommu_hw_info_arm_smmuv3"))
    }

    /// `draftLayout`: the 32-byte form of the 2023 pre-merge iommufd patches (no IIDR, AIDR).
    static func decode(_ r: ByteReader, draftLayout: Bool = false) throws(DecodeError) -> [Fact] {
        let size = draftLayout ? 32 : 40
        guard r.count == size else {
            throw DecodeError(.sizeMismatch, offset: r.base + min(r.count, size), expected: "\(size) bytes of iommu_hw_info_arm_smmuv3", found: "\(r.count)", context: r.context)
        }
        var idr: [UInt32] = []
        for i in 0..<6 { idr.append(try r.u32(8 + 4 * i, "IDR\(i)")) }
        var out = [Fact("smmu.flags", hex: UInt64(try r.u32(0, "flags")))]
        out += try decode(idr: idr, iidr: draftLayout ? nil : try r.u32(32, "IIDR"), aidr: draftLayout ? nil : try r.u32(36, "AIDR"))
        return out
    }

    public static let vocabulary: [VocabularyEntry] =
        [VocabularyEntry("smmu.flags", .text, "Flags word of iommufd's SMMUv3 data, hex (no bits defined upstream).", source: "iommu_hw_info_arm_smmuv3.flags")]
        + idr0Fields.vocabulary(register: "SMMUv3 IDR0") + idr1Fields.vocabulary(register: "SMMUv3 IDR1")
        + idr3Fields.vocabulary(register: "SMMUv3 IDR3") + idr5Fields.vocabulary(register: "SMMUv3 IDR5")
        + iidrFields.vocabulary(register: "SMMUv3 IIDR") + aidrFields.vocabulary(register: "SMMUv3 AIDR") + [
            VocabularyEntry("smmu.oas_bits", .int, "Output address size in bits.", source: "IDR5.OAS: 0→32, 1→36, 2→40, 3→42, 4→44, 5→48, 6→52, 7→56"),
            VocabularyEntry("smmu.viommu_cache_ok", .bool,
                            "A nested vIOMMU can be allocated for any device behind this SMMU as far as cache coherency goes: the SMMU has stage-2 force write-back (S2FWB). Absent otherwise, never false: without S2FWB the kernel still allows a device whose firmware marks it CANWBS (ACPI IORT), which the ID registers do not show. On a host with several SMMUs, true when a reporting one has S2FWB; smmu.idr3.fwb = false shows that another lacks it.",
                            source: "IDR3.FWB (bit 8): arm_vsmmu_alloc refuses with -EOPNOTSUPP when !arm_smmu_master_canwbs(master) && !S2FWB (6.13+)"),
            VocabularyEntry("smmu.pasid_bits", .int, "SubstreamID (PASID) width in bits; absent when 0.", source: "IDR1.SSIDSIZE"),
        ]
}
