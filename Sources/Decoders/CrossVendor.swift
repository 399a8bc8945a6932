/// The few vendor-neutral facts a scheduler asks for first. Every vendor decoder emits the ones
/// it can derive, by the rules documented here; a fact a decoder cannot derive is left out
/// (absent means unknown, never false).
public enum CrossVendor {
    public static let vendor = "iommu.vendor"
    public static let pasidBits = "pasid_bits"
    public static let addrWidth = "addr_width"
    public static let nesting = "nesting"
    public static let pasidBind = "pasid_bind"
    public static let firstLevelFormat = "first_level.format"

    /// Values of `first_level.format` and `nesting.format`.
    public enum Format {
        public static let intelVTd = "intel-vtd"
        public static let armSMMUv3 = "arm-smmuv3"
        public static let amdV2 = "amd-v2"
        public static let none = "none"
    }

    public static let vocabulary: [VocabularyEntry] = [
        VocabularyEntry(vendor, .text, "IOMMU vendor family of the unit: `intel`, `amd` or `arm`.",
                        source: "which register set or data type the report carried"),
        VocabularyEntry(pasidBits, .int,
                        "PASID width in bits the IOMMU supports for first-level/PASID-tagged translation; absent when PASID is unsupported or unknown.",
                        source: "VT-d: ECAP.PSS + 1 when ECAP.PASID and ECAP.SMTS; AMD: EFR.PASmax + 1 when EFR.GTSup; SMMUv3: IDR1.SSIDSIZE when non-zero; nesting info: pasid_bits; iommufd: the vendor registers in its data (the device-negotiated width is iommufd.max_pasid_log2, a separate fact)"),
        VocabularyEntry(addrWidth, .int,
                        "Widest input address, in bits, the IOMMU translates for DMA.",
                        source: "VT-d: widest width in the effective SAGAW, capped at MGAW + 1; AMD: 48 (4-level) or 57 (5-level) from EFR.HATS; SMMUv3: IDR5.OAS; nesting info: addr_width"),
        VocabularyEntry(nesting, .bool,
                        "Two-stage (nested) translation is usable: a guest-owned first stage on top of a host-owned second stage.",
                        source: "VT-d: ECAP.SMTS and ECAP.NEST (the kernel's nested_supported()); SMMUv3: IDR0.S1P and IDR0.S2P; nesting info: present with a non-zero format; AMD: EFR.GTSup and EFR.GIoSup"),
        VocabularyEntry(pasidBind, .bool,
                        "A guest first-level page table can be bound to a PASID (vSVA): nesting plus PASID-tagged first-level translation.",
                        source: "VT-d: nesting and ECAP.PASID and ECAP.FLTS; SMMUv3: nesting and IDR1.SSIDSIZE > 0; nesting info: features.bind_pgtbl; AMD: nesting and EFR.GTSup with PASmax > 0"),
        VocabularyEntry(firstLevelFormat, .text,
                        "Page-table format of the first (guest) stage: `intel-vtd`, `arm-smmuv3`, `amd-v2`, or `none` when the unit has no first-level translation.",
                        source: "VT-d: ECAP.FLTS; SMMUv3: IDR0.S1P; AMD: EFR.GTSup; nesting info: format"),
    ]
}
