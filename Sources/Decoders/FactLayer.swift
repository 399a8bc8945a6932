/// Which half of the fact model a name belongs to (docs/capabilities.md), so that audits can report what
/// a VM can get apart from what the silicon has and from what the kernel's interfaces said.
public enum FactLayer: String, CaseIterable, Sendable {
    /// What a VM can get here, as the kernel was seen to allow: CrossVendor's usable names.
    case usable
    /// What the silicon reports: the vendor registers (`vtd.*`, `amd.*`, `smmu.*`) and the `hw.*`
    /// summary of them, the IOMMU's vendor and address width.
    case hardware
    /// What the kernel's interfaces report: VFIO's chain, iommufd's answers, probe outcomes, the device count.
    case kernel
    /// Why a usable fact has its value (`evidence.*`): words, not capabilities.
    case evidence

    /// The layer of a host-level vocabulary name; a name outside the vocabulary counts as the kernel's.
    public static func of(_ name: String) -> FactLayer {
        if usableNames.contains(name) { return .usable }
        if name.hasPrefix(evidencePrefix) { return .evidence }
        if hardwareNames.contains(name) { return .hardware }
        return .kernel
    }

    /// Every evidence name starts so.
    public static let evidencePrefix = "evidence."

    /// Names decoded from the vendor's registers, whichever path carried them (sysfs or iommufd's hw_info):
    /// equal register facts before and after a kernel change mean the same hardware.
    public static func isRegister(_ name: String) -> Bool { registerNames.contains(name) }

    /// Names that say which hardware a host has, for comparing hosts (`capreg audit predict`): the whole
    /// registers where the vocabulary has them (VT-d CAP and ECAP, AMD EFR and EFR2) and SMMUv3's register
    /// fields (iommufd reports no whole SMMUv3 register), with the vendor. A few facts per host, not dozens.
    public static let hardwareIdentityNames: [String] = ["iommu.vendor", "vtd.cap", "vtd.ecap", "amd.efr", "amd.efr2"]
        + SMMUv3Registers.vocabulary.map(\.name).filter { registerNames.contains($0) }

    static let usableNames = Set(CrossVendor.usableNames)
    static let registerNames = Set((VTdRegisters.vocabulary + AMDRegisters.vocabulary + SMMUv3Registers.vocabulary).map(\.name))
    static let hardwareNames = registerNames.union(CrossVendor.hardwareVocabulary.map(\.name))
}
