/// The vendor-neutral facts a scheduler asks for first, in two halves (docs/capabilities.md):
///
/// - `hw.NAME`: what the hardware registers (or a kernel-reported nesting capability) say the IOMMU
///   can do. Every vendor decoder emits the ones it can derive; a fact it cannot derive is left out.
/// - `NAME`: what a VM can get on this host, with this kernel, now. Derived per report from the
///   probes the collector ran (Report/UsableFacts.swift): true only where the kernel was seen to allow
///   it, false where it refused, absent (unknown) where nobody asked; `evidence.NAME` says which.
///
/// Absent means unknown, never false.
public enum CrossVendor {
    public static let vendor = "iommu.vendor"
    public static let addrWidth = "addr_width"

    // The usable half.
    public static let pasidBits = "pasid_bits"
    public static let nesting = "nesting"
    public static let pasidBind = "pasid_bind"
    public static let firstLevelFormat = "first_level.format"
    public static let dirtyTracking = "dirty_tracking"

    /// The usable names, each with a hardware twin `hw.NAME` and an `evidence.NAME`.
    public static let usableNames = [nesting, pasidBind, firstLevelFormat, pasidBits, dirtyTracking]

    public static func hw(_ name: String) -> String { "hw." + name }
    public static func evidence(_ name: String) -> String { "evidence." + name }

    /// Values of `first_level.format` and `nesting.format`.
    public enum Format {
        public static let intelVTd = "intel-vtd"
        public static let armSMMUv3 = "arm-smmuv3"
        public static let amdV2 = "amd-v2"
        public static let none = "none"
    }

    static let hardwareVocabulary: [VocabularyEntry] = [
        VocabularyEntry(vendor, .text, "IOMMU vendor family of the unit: `intel`, `amd` or `arm`.",
                        source: "which register set or data type the report carried"),
        VocabularyEntry(addrWidth, .int,
                        "Widest input address, in bits, the IOMMU translates for DMA.",
                        source: "VT-d: widest width in the effective SAGAW, capped at MGAW + 1; AMD: 48 (4-level) or 57 (5-level) from EFR.HATS; SMMUv3: IDR5.OAS; nesting info: addr_width"),
        VocabularyEntry(hw(pasidBits), .int,
                        "Hardware: PASID width in bits the IOMMU supports for first-level/PASID-tagged translation; absent when PASID is unsupported or unknown.",
                        source: "VT-d: ECAP.PSS + 1 when ECAP.PASID and ECAP.SMTS; AMD: EFR.PASmax + 1 when EFR.GTSup; SMMUv3: IDR1.SSIDSIZE when non-zero; nesting info: pasid_bits; iommufd: the vendor registers in its data (the device-negotiated width is iommufd.max_pasid_log2, a separate fact)"),
        VocabularyEntry(hw(nesting), .bool,
                        "Hardware: the IOMMU has what two-stage (nested) translation needs. Says nothing about the kernel: see `nesting`.",
                        source: "VT-d: ECAP.SMTS and ECAP.NEST (the kernel's nested_supported()); SMMUv3: IDR0.S1P and IDR0.S2P; nesting info: present with a non-zero format; AMD: amd.nest_parent_supported = EFR.GTSup, EFR.GIoSup and EFR2.GCR3TRPMODE (is_nest_parent_supported; absent when both EFR bits are set but EFR2 was not reported)"),
        VocabularyEntry(hw(pasidBind), .bool,
                        "Hardware: a guest first-level page table could be bound to a PASID (vSVA): nesting plus PASID-tagged first-level translation.",
                        source: "VT-d: hw.nesting and ECAP.PASID and ECAP.FLTS; SMMUv3: hw.nesting and IDR1.SSIDSIZE > 0; nesting info: features.bind_pgtbl; AMD: hw.nesting and PASmax > 0"),
        VocabularyEntry(hw(firstLevelFormat), .text,
                        "Hardware: page-table format of the first (guest) stage: `intel-vtd`, `arm-smmuv3`, `amd-v2`, or `none` when the unit has no first-level translation.",
                        source: "VT-d: ECAP.FLTS and ECAP.SMTS; SMMUv3: IDR0.S1P; AMD: EFR.GTSup; nesting info: format"),
        VocabularyEntry(hw(dirtyTracking), .bool,
                        "Hardware: the IOMMU can track dirty pages in its second-stage tables (live migration of a VM with a passed-through device).",
                        source: "VT-d: ECAP.SMTS and ECAP.SLADS; AMD: EFR.HDSup; SMMUv3: IDR0.HTTU = 2 or 3; iommufd: out_capabilities DIRTY_TRACKING"),
    ]

    static let usableVocabulary: [VocabularyEntry] = [
        VocabularyEntry(nesting, .bool,
                        "A VM can get two-stage (nested) translation here, as the kernel was seen to allow: false where it refused, absent where nobody asked (see evidence.nesting).",
                        source: "probe iommufd.hwpt_alloc.nest_parent = ok on every probed device, or a VFIO nesting capability in the GET_INFO chain (the patched VFIO nesting uAPI); false on a refusal, or with no iommufd and no VFIO nesting capability after SET_IOMMU(TYPE1_NESTING)"),
        VocabularyEntry(pasidBind, .bool,
                        "A guest first-level page table can be bound to a PASID here, as the kernel was seen to allow (see evidence.pasid_bind).",
                        source: "iommufd: nest_parent and hwpt_alloc.pasid probes both ok; VFIO nesting capability: features.bind_pgtbl; false when nesting is false or the PASID probe was refused"),
        VocabularyEntry(firstLevelFormat, .text,
                        "The guest first-stage page-table format a VM can use here: hw.first_level.format where nesting is usable, `none` where it is not, absent when unknown.",
                        source: "hw.first_level.format (or the VFIO nesting capability's format) gated by nesting"),
        VocabularyEntry(pasidBits, .int,
                        "PASID width in bits a VM can use here: hw.pasid_bits where a PASID-capable HWPT (or the VFIO nesting capability) was allowed, 0 where refused, absent when unknown.",
                        source: "hw.pasid_bits gated by probe iommufd.hwpt_alloc.pasid; VFIO nesting capability: nesting.pasid_bits"),
        VocabularyEntry(dirtyTracking, .bool,
                        "The kernel gives a VM's passed-through device IOMMU dirty tracking here (see evidence.dirty_tracking).",
                        source: "probe iommufd.hwpt_alloc.dirty_tracking: ok on every probed device → true; refused → false"),
    ] + usableNames.map {
        VocabularyEntry(evidence($0), .text,
                        "Why `\($0)` has its value, or why it is unknown: the probe and its outcome, or what kept the collector from asking (no iommufd, no device bound, permission, device in use, collector too old).",
                        source: "Report/UsableFacts.swift over the report's probes")
    }

    public static let vocabulary: [VocabularyEntry] = hardwareVocabulary + usableVocabulary
}
