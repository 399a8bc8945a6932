/// Intel VT-d CAP and ECAP registers (fact sheet §4), bit positions as the kernel's cap_*/ecap_*
/// accessors read them. Field facts carry the raw bit-field value; what the kernel computes from a
/// field (MGAW + 1, FRO × 16, …) is a separate derived fact, so both are queryable.
public enum VTdRegisters {
    static let capFields: [RegisterField] = [
        RegisterField("vtd.cap.nd", bits: 0...2, "Number of domain ids supported, encoded: domains = 1 << (4 + 2·ND) (see vtd.domains)."),
        RegisterField("vtd.cap.afl", bit: 3, "Advanced fault logging."),
        RegisterField("vtd.cap.rwbf", bit: 4, "Write-buffer flushing is required."),
        RegisterField("vtd.cap.plmr", bit: 5, "Protected low-memory region."),
        RegisterField("vtd.cap.phmr", bit: 6, "Protected high-memory region."),
        RegisterField("vtd.cap.cm", bit: 7, "Caching mode: not-present entries may be cached (set by virtual IOMMUs)."),
        RegisterField("vtd.cap.sagaw", bits: 8...12, "Supported adjusted guest address widths for second-level tables: bit 1 = 39-bit/3-level, bit 2 = 48-bit/4-level, bit 3 = 57-bit/5-level."),
        RegisterField("vtd.cap.mgaw", bits: 16...21, "Maximum guest address width, encoded: the kernel's cap_mgaw() returns this + 1 (see vtd.max_guest_addr_width)."),
        RegisterField("vtd.cap.zlr", bit: 22, "Zero-length DMA reads are supported."),
        RegisterField("vtd.cap.isoch", bit: 23, "Isochrony (deprecated)."),
        RegisterField("vtd.cap.fro", bits: 24...33, "Fault-recording register offset in 16-byte units (see vtd.fault_reg_offset)."),
        RegisterField("vtd.cap.sllps", bits: 34...37, "Second-level large pages: bit 0 = 2 MiB, bit 1 = 1 GiB (see vtd.sl_large_pages)."),
        RegisterField("vtd.cap.psi", bit: 39, "Page-selective invalidation."),
        RegisterField("vtd.cap.nfr", bits: 40...47, "Number of fault-recording registers minus 1 (see vtd.num_fault_regs)."),
        RegisterField("vtd.cap.mamv", bits: 48...53, "Maximum address-mask value for page-selective invalidation."),
        RegisterField("vtd.cap.dwd", bit: 54, "Write draining."),
        RegisterField("vtd.cap.drd", bit: 55, "Read draining."),
        RegisterField("vtd.cap.fl1gp", bit: 56, "First-level 1 GiB pages."),
        RegisterField("vtd.cap.pi", bit: 59, "Posted interrupts."),
        RegisterField("vtd.cap.fl5lp", bit: 60, "First-level 5-level paging (older kernels call the accessor cap_5lp_support)."),
        RegisterField("vtd.cap.ecmds", bit: 61, "Enhanced command interface (kernel accessor since 6.3)."),
        RegisterField("vtd.cap.esirtps", bit: 62, "Interrupt-remapping caches are invalidated on SIRTP."),
        RegisterField("vtd.cap.esrtps", bit: 63, "All caches are invalidated on SRTP (kernel accessor since 6.1)."),
    ]

    static let ecapFields: [RegisterField] = [
        RegisterField("vtd.ecap.c", bit: 0, "Page-walk coherency."),
        RegisterField("vtd.ecap.qi", bit: 1, "Queued invalidation (the kernel's ecap_qis() returns the bit unshifted)."),
        RegisterField("vtd.ecap.dt", bit: 2, "Device-TLB (ATS) support."),
        RegisterField("vtd.ecap.ir", bit: 3, "Interrupt remapping."),
        RegisterField("vtd.ecap.eim", bit: 4, "Extended interrupt mode (x2APIC ids)."),
        RegisterField("vtd.ecap.pt", bit: 6, "Pass-through translation."),
        RegisterField("vtd.ecap.sc", bit: 7, "Snoop control (drives VFIO_DMA_CC_IOMMU)."),
        RegisterField("vtd.ecap.iro", bits: 8...17, "IOTLB register offset in 16-byte units (see vtd.iotlb_reg_offset)."),
        RegisterField("vtd.ecap.mhmv", bits: 20...23, "Maximum interrupt-remapping handle mask value."),
        RegisterField("vtd.ecap.ecs", bit: 24, "Extended context support (pre-3.0 spec, withdrawn; old kernels only)."),
        RegisterField("vtd.ecap.mts", bit: 25, "Memory type support."),
        RegisterField("vtd.ecap.nest", bit: 26, "Nested translation: required for two-stage (nesting) use."),
        RegisterField("vtd.ecap.dis", bit: 27, "Deferred invalidate."),
        RegisterField("vtd.ecap.broken_pasid", bit: 28, "Kernel-defined quirk bit: PASID support is broken on this unit."),
        RegisterField("vtd.ecap.prs", bit: 29, "Page request support (I/O page faults)."),
        RegisterField("vtd.ecap.ers", bit: 30, "Execute request support."),
        RegisterField("vtd.ecap.srs", bit: 31, "Supervisor request support."),
        RegisterField("vtd.ecap.nwfs", bit: 33, "No-write flag support."),
        RegisterField("vtd.ecap.eafs", bit: 34, "Extended accessed flag support."),
        RegisterField("vtd.ecap.pss", bits: 35...39, "PASID size, encoded: PASID bits = PSS + 1 (see vtd.pasid_bits)."),
        RegisterField("vtd.ecap.pasid", bit: 40, "PASID support."),
        RegisterField("vtd.ecap.dit", bit: 41, "Device-TLB invalidation throttling."),
        RegisterField("vtd.ecap.pds", bit: 42, "Page-request drain support."),
        RegisterField("vtd.ecap.smts", bit: 43, "Scalable-mode translation."),
        RegisterField("vtd.ecap.vcs", bit: 44, "Virtual command support (accessor dropped from later kernels)."),
        RegisterField("vtd.ecap.slads", bit: 45, "Second-level accessed/dirty support (dirty tracking)."),
        RegisterField("vtd.ecap.slts", bit: 46, "Second-level translation support."),
        RegisterField("vtd.ecap.flts", bit: 47, "First-level translation support."),
        RegisterField("vtd.ecap.smpwc", bit: 48, "Scalable-mode page-walk coherency."),
        RegisterField("vtd.ecap.rps", bit: 49, "RID-PASID support."),
        RegisterField("vtd.ecap.pms", bit: 51, "Performance monitoring (kernel accessor since 6.3)."),
    ]

    /// Width in bits of each SAGAW bit (bits 0 and 4 are reserved).
    static let sagawWidths: [(bit: Int, width: Int)] = [(1, 39), (2, 48), (3, 57)]

    public static func decode(capText: String, ecapText: String) throws(DecodeError) -> [Fact] {
        decode(cap: try BlobText.register(capText, name: "VT-d CAP"), ecap: try BlobText.register(ecapText, name: "VT-d ECAP"))
    }

    public static func decode(cap: UInt64, ecap: UInt64) -> [Fact] {
        func bit(_ r: UInt64, _ n: Int) -> Bool { (r >> UInt64(n)) & 1 == 1 }
        func field(_ r: UInt64, _ low: Int, _ width: Int) -> Int { Int((r >> UInt64(low)) & ((1 << UInt64(width)) - 1)) }

        let sagaw = field(cap, 8, 5)
        let mgaw = field(cap, 16, 6) + 1
        let fl5lp = bit(cap, 60)
        let pasid = bit(ecap, 40), smts = bit(ecap, 43), slts = bit(ecap, 46), flts = bit(ecap, 47), nest = bit(ecap, 26)
        let pss = field(ecap, 35, 5)

        // Effective SAGAW as newer kernels compute it (__iommu_calculate_sagaw): second level only
        // without scalable first-level support; the first level's widths without SLTS; else both.
        let firstLevelSagaw = (1 << 2) | (fl5lp ? 1 << 3 : 0)
        let effective: Int
        if !smts || !flts { effective = sagaw } else if !slts { effective = firstLevelSagaw } else { effective = sagaw & firstLevelSagaw }
        func widths(_ mask: Int) -> [Int] { sagawWidths.filter { mask & (1 << $0.bit) != 0 }.map(\.width) }
        func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: ",") }

        var out: [Fact] = []
        out.reserveCapacity(capFields.count + ecapFields.count + 24)
        out.append(Fact("vtd.cap", hex: cap))
        out.append(Fact("vtd.ecap", hex: ecap))
        for f in capFields { out.append(f.fact(cap)) }
        for f in ecapFields { out.append(f.fact(ecap)) }
        out.append(Fact("vtd.max_guest_addr_width", int: mgaw))
        out.append(Fact("vtd.domains", int: 1 << (4 + 2 * field(cap, 0, 3))))
        out.append(Fact("vtd.fault_reg_offset", int: field(cap, 24, 10) * 16))
        out.append(Fact("vtd.num_fault_regs", int: field(cap, 40, 8) + 1))
        out.append(Fact("vtd.iotlb_reg_offset", int: field(ecap, 8, 10) * 16))
        out.append(Fact("vtd.sl_addr_widths", text: list(widths(sagaw))))
        out.append(Fact("vtd.sl_levels", text: list(widths(sagaw).map { ($0 - 30) / 9 + 2 })))
        let sllps = field(cap, 34, 4)
        out.append(Fact("vtd.sl_large_pages", text: [(0, "2M"), (1, "1G")].filter { sllps & (1 << $0.0) != 0 }.map(\.1).joined(separator: ",")))
        if flts { out.append(Fact("vtd.fl_addr_widths", text: fl5lp ? "48,57" : "48")) }
        let effectiveWidths = widths(effective)
        out.append(Fact("vtd.addr_widths", text: list(effectiveWidths)))
        out.append(Fact("vtd.scalable_mode", smts))
        if pasid { out.append(Fact("vtd.pasid_bits", int: pss + 1)) }

        let nesting = smts && nest
        out.append(Fact(CrossVendor.vendor, text: "intel"))
        // The kernel keeps the table depth SAGAW gives but caps the domain's width at MGAW + 1.
        if let widest = effectiveWidths.max() { out.append(Fact(CrossVendor.addrWidth, int: min(widest, mgaw))) }
        if pasid && smts { out.append(Fact(CrossVendor.hw(CrossVendor.pasidBits), int: pss + 1)) }
        out.append(Fact(CrossVendor.hw(CrossVendor.nesting), nesting))
        out.append(Fact(CrossVendor.hw(CrossVendor.pasidBind), nesting && pasid && flts))
        out.append(Fact(CrossVendor.hw(CrossVendor.firstLevelFormat), text: flts && smts ? CrossVendor.Format.intelVTd : CrossVendor.Format.none))
        out.append(Fact(CrossVendor.hw(CrossVendor.dirtyTracking), smts && bit(ecap, 45)))
        return out
    }

    public static let vocabulary: [VocabularyEntry] = [
        VocabularyEntry("vtd.cap", .text, "The whole CAP register, hex.", source: "VT-d CAP (MMIO 0x8; sysfs intel-iommu/cap)"),
        VocabularyEntry("vtd.ecap", .text, "The whole ECAP register, hex.", source: "VT-d ECAP (MMIO 0x10; sysfs intel-iommu/ecap)"),
    ] + capFields.vocabulary(register: "VT-d CAP") + ecapFields.vocabulary(register: "VT-d ECAP") + [
        VocabularyEntry("vtd.max_guest_addr_width", .int, "Maximum guest address width in bits: the absolute ceiling of any address width.", source: "CAP.MGAW + 1 (cap_mgaw)"),
        VocabularyEntry("vtd.domains", .int, "Number of domain ids the unit supports.", source: "1 << (4 + 2·CAP.ND)"),
        VocabularyEntry("vtd.fault_reg_offset", .int, "Byte offset of the fault-recording registers from the unit's base.", source: "CAP.FRO × 16"),
        VocabularyEntry("vtd.num_fault_regs", .int, "Number of fault-recording registers.", source: "CAP.NFR + 1"),
        VocabularyEntry("vtd.iotlb_reg_offset", .int, "Byte offset of the IOTLB registers from the unit's base.", source: "ECAP.IRO × 16"),
        VocabularyEntry("vtd.sl_addr_widths", .text, "Second-level address widths supported, comma-separated bits (e.g. `39,48`).", source: "CAP.SAGAW bits 1/2/3 = 39/48/57"),
        VocabularyEntry("vtd.sl_levels", .text, "Second-level page-table levels supported, comma-separated (e.g. `3,4`).", source: "CAP.SAGAW: levels = (width − 30) / 9 + 2"),
        VocabularyEntry("vtd.sl_large_pages", .text, "Second-level large page sizes, comma-separated (`2M`, `1G`); empty when none.", source: "CAP.SLLPS bit 0 = 2 MiB, bit 1 = 1 GiB"),
        VocabularyEntry("vtd.fl_addr_widths", .text, "First-level address widths supported (`48`, or `48,57` with 5-level paging); absent without first-level translation.", source: "ECAP.FLTS, CAP.FL5LP"),
        VocabularyEntry("vtd.addr_widths", .text, "Effective SAGAW: the address widths (page-table depths) the kernel can choose for DMA domains, comma-separated bits; a domain's width is then capped at vtd.max_guest_addr_width.",
                        source: "newer kernels' __iommu_calculate_sagaw: CAP.SAGAW without scalable first level; first-level widths without SLTS; else their intersection"),
        VocabularyEntry("vtd.scalable_mode", .bool, "Scalable-mode translation is available (needed for PASID and nesting).", source: "ECAP.SMTS"),
        VocabularyEntry("vtd.pasid_bits", .int, "PASID width in bits the unit supports; absent without ECAP.PASID.", source: "ECAP.PSS + 1"),
    ]
}
