/// `amd-nested`: an AMD-Vi host backing a guest vIOMMU with nested translation through iommufd (the
/// guest's v2/GCR3 table on a host v1 nest parent), as the kernel's AMD nested-translation series
/// checks it (fact sheet §3.5). QEMU's amd-iommu has no merged host check for this, so every condition
/// is the kernel's; docs/profiles.md explains them and what is left out.
extension CompatibilityProfile {
    static let linuxAMD = "torvalds/linux with the AMD nested-translation series (2025; merged after 6.19-rc1, release not verified)"

    public static let amdNested = CompatibilityProfile(
        name: "amd-nested",
        summary: "AMD-Vi host can back a guest vIOMMU with nested (guest v2 table on a host v1 nest parent) translation over iommufd.",
        parameters: [
            .int("guest_levels", default: 4, range: 4...5,
                 "Levels of the guest's v2 (GCR3) page table: 4, or 5 for a guest with 5-level paging."),
        ],
        conditions: [
            ProfileCondition(
                id: "iommufd-amd",
                requirement: "The device is backed by iommufd and IOMMU_GET_HW_INFO reports AMD data (the guest's vIOMMU is built from the host EFR/EFR2).",
                template: #"iommufd.data_type = "amd""#, applies: .always,
                source: ProfileSource(.kernel, function: "amd_iommufd_hw_info (IOMMU_HW_INFO_TYPE_AMD)", file: "drivers/iommu/amd/iommufd.c", version: linuxAMD,
                                      note: "the type exists only with CONFIG_AMD_IOMMU_IOMMUFD; asked for any other type the AMD driver answers -EOPNOTSUPP")),
            ProfileCondition(
                id: "guest-translation",
                requirement: "The IOMMU has guest translation (EFR.GTSup): v2 (GCR3) page tables.",
                template: "amd.efr.gt", applies: .always,
                source: ProfileSource(.kernel, function: "is_nest_parent_supported (from amd_iommu_domain_alloc_paging_flags, IOMMU_HWPT_ALLOC_NEST_PARENT)",
                                      file: "drivers/iommu/amd/iommu.c", version: linuxAMD, note: "-EOPNOTSUPP otherwise")),
            ProfileCondition(
                id: "guest-io",
                requirement: "The IOMMU has guest I/O protection (EFR.GIoSup): v2 tables translate DMA without PASID.",
                template: "amd.efr.gio", applies: .always,
                source: ProfileSource(.kernel, function: "is_nest_parent_supported", file: "drivers/iommu/amd/iommu.c", version: linuxAMD, note: "-EOPNOTSUPP otherwise")),
            ProfileCondition(
                id: "gcr3-trp-mode",
                requirement: "The device table's GCR3 root pointer can hold a guest physical address (EFR2.GCR3TRPMODE).",
                template: "amd.efr2.gcr3trpmode", applies: .always,
                source: ProfileSource(.kernel, function: "is_nest_parent_supported; the nested attach path (\"Currently only support GCR3TRPMode with nested translation\")",
                                      file: "drivers/iommu/amd/iommu.c, nested.c", version: linuxAMD,
                                      note: "unknown on a host that reports only EFR (sysfs features before 6.0)")),
            ProfileCondition(
                id: "five-level",
                requirement: "A 5-level guest table needs 5-level guest paging on the host (EFR.GATS = 1).",
                template: "amd.guest_levels >= {guest_levels}", applies: .whenAbove("guest_levels", 4),
                source: ProfileSource(.kernel, function: "validate_gdte_nested (gpt_level 5 with amd_iommu_gpt_level < PAGE_MODE_5_LEVEL)",
                                      file: "drivers/iommu/amd/nested.c", version: linuxAMD,
                                      note: "amd_iommu_gpt_level is 5-level only when GATS says so and the CPU has 5-level paging (LA57), which capreg does not collect")),
            ProfileCondition(
                id: "nest-parent",
                requirement: "The kernel allowed a nest parent: the collector's IOMMU_HWPT_ALLOC probe with NEST_PARENT succeeded on every probed device.",
                template: "nesting", applies: .always,
                source: ProfileSource(.kernel, function: "amd_iommu_domain_alloc_paging_flags (IOMMU_HWPT_ALLOC_NEST_PARENT)", file: "drivers/iommu/amd/iommu.c",
                                      version: linuxAMD,
                                      note: "the usable fact: false where the kernel refused (a kernel without the series refuses on capable hardware), unknown where nothing was probed")),
        ])
}
