/// `vtd-nested`: QEMU's intel-iommu with x-flts=on on an iommufd-backed VFIO device, i.e. the guest's
/// first-stage table nested on a host second-stage (nest parent) domain. Each condition says whose
/// check it is and where it was read; docs/profiles.md explains them and what is left out.
extension CompatibilityProfile {
    static let qemuAccel = "qemu/qemu commit 554a719e (development tree after 10.0; release not verified)"
    static let qemuCommon = "qemu/qemu commit 019fbfa4 (present since the host IOMMU device series)"
    static let linux = "torvalds/linux with first/second-stage allocators (first release of the split not verified); earlier kernels test the same bits in intel_iommu_domain_alloc_user / _paging_flags"

    public static let vtdNested = CompatibilityProfile(
        name: "vtd-nested",
        summary: "Intel VT-d host can back a guest vIOMMU with nested (first-stage on second-stage) translation: QEMU intel-iommu x-flts=on over iommufd.",
        parameters: [
            .int("aw_bits", default: 48, range: 39...57,
                 "Guest address width (intel-iommu aw-bits). QEMU accepts only 48 with x-flts=on; the kernel takes 48 (4-level) or 57 (5-level) first-stage tables."),
            .int("pasid_bits", default: 0, range: 0...20,
                 "PASID width the vIOMMU exposes to the guest; 0 for none (VT-d PASIDs are at most 20 bits)."),
            .bool("fs1gp", default: true,
                  "The guest may use first-stage 1 GiB pages (intel-iommu fs1gp, on by default in QEMU)."),
            .bool("dirty_tracking", default: false,
                  "The nest parent must track dirty pages (live migration with the vIOMMU)."),
            .bool("strict_ro", default: false,
                  "Guest read-only DMA mappings must be enforced by the nest parent, not dropped as a workaround for erratum 772415."),
        ],
        conditions: [
            ProfileCondition(
                id: "iommufd-vtd",
                requirement: "The device is backed by iommufd and IOMMU_GET_HW_INFO reports Intel VT-d data.",
                template: #"iommufd.data_type = "intel-vtd""#, applies: .always,
                source: ProfileSource(.qemu, function: "vtd_check_hiod_accel", file: "hw/i386/intel_iommu_accel.c", version: qemuAccel,
                                      note: "\"Need IOMMUFD backend when x-flts=on\"; \"Incompatible host platform IOMMU type\"")),
            ProfileCondition(
                id: "scalable-mode",
                requirement: "The host unit runs in scalable mode (ECAP.SMTS).",
                template: "vtd.scalable_mode", applies: .always,
                source: ProfileSource(.kernel, function: "sm_supported() inside nested_supported()", file: "drivers/iommu/intel/iommu.h", version: linux,
                                      note: "sm_supported() is also false when booted with intel_iommu=sm_off, which capreg does not collect")),
            ProfileCondition(
                id: "nest",
                requirement: "The host unit supports nested translation (ECAP.NEST): needed to allocate the nest parent and the nested domain.",
                template: "vtd.ecap.nest", applies: .always,
                source: ProfileSource(.kernel, function: "intel_iommu_domain_alloc_nested, intel_iommu_domain_alloc_second_stage (NEST_PARENT), intel_pasid_setup_nested",
                                      file: "drivers/iommu/intel/nested.c, iommu.c, pasid.c", version: linux,
                                      note: "nested_supported() = sm_supported() && ecap_nest(); -EOPNOTSUPP otherwise")),
            ProfileCondition(
                id: "kernel-nest-parent",
                requirement: "The running kernel gives a VM a nest parent: the collector's IOMMU_HWPT_ALLOC with NEST_PARENT on a bound device succeeded (usable `nesting`), not only the registers.",
                template: "nesting", applies: .always,
                source: ProfileSource(.kernel, function: "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_NEST_PARENT (iommufd_hwpt_alloc → domain_alloc_paging_flags / domain_alloc_user)",
                                      file: "drivers/iommu/iommufd/hw_pagetable.c", version: linux,
                                      note: "asked by the collector's probe (probe.iommufd.hwpt_alloc.nest_parent); the registers alone cannot show the kernel, its config and its uAPI")),
            ProfileCondition(
                id: "second-stage",
                requirement: "The host unit has second-stage translation (ECAP.SLTS): the nest parent is a second-stage domain.",
                template: "vtd.ecap.slts", applies: .always,
                source: ProfileSource(.kernel, function: "intel_iommu_domain_alloc_second_stage", file: "drivers/iommu/intel/iommu.c", version: linux,
                                      note: "sm_supported() && !ecap_slts() gives -EOPNOTSUPP")),
            ProfileCondition(
                id: "first-stage",
                requirement: "The host unit has first-stage translation (ECAP.FLTS): the guest's first-stage table is walked by the host's hardware.",
                template: "vtd.ecap.flts", applies: .always,
                source: ProfileSource(.capreg, function: "paging_domain_compatible_first_stage (first-stage domains only)", file: "drivers/iommu/intel/iommu.c",
                                      version: linux,
                                      note: "neither QEMU nor the kernel tests ecap_flts on the nested path; capreg requires it so that a unit without a first-stage walker never matches")),
            ProfileCondition(
                id: "address-width",
                requirement: "The guest address width is no wider than the host's: the bits of the highest usable IOVA of the device.",
                template: "vfio.iova_top_bits >= {aw_bits}", applies: .always,
                source: ProfileSource(.qemu, function: "vtd_check_hiod (\"aw-bits %d > host aw-bits %d\") with vfio_device_get_aw_bits",
                                      file: "hw/i386/intel_iommu.c, hw/vfio/device.c", version: qemuCommon,
                                      note: "host aw-bits = last bit of the last IOVA range + 1, which is capreg's vfio.iova_top_bits")),
            ProfileCondition(
                id: "five-level",
                requirement: "A guest address width above 48 bits needs 5-level first-stage paging on the host (CAP.FL5LP).",
                template: "vtd.cap.fl5lp", applies: .whenAbove("aw_bits", 48),
                source: ProfileSource(.kernel, function: "intel_pasid_setup_nested (ADDR_WIDTH_5LEVEL)", file: "drivers/iommu/intel/pasid.c", version: linux,
                                      note: "the kernel also requires the CPU's LA57, which capreg does not collect")),
            ProfileCondition(
                id: "fs1gp",
                requirement: "First-stage 1 GiB pages for the guest need them on the host (CAP.FL1GP).",
                template: "vtd.cap.fl1gp", applies: .whenTrue("fs1gp"),
                source: ProfileSource(.qemu, function: "vtd_check_hiod_accel (\"First stage 1GB large page is unsupported by host IOMMU\")",
                                      file: "hw/i386/intel_iommu_accel.c", version: qemuAccel)),
            ProfileCondition(
                id: "pasid-width",
                requirement: "The host unit supports PASIDs (ECAP.PSS + 1 with ECAP.PASID) at least as wide as the guest's, and the kernel allowed a PASID-capable HWPT (usable `pasid_bits`).",
                template: "vtd.ecap.pasid and vtd.pasid_bits >= {pasid_bits} and pasid_bits >= {pasid_bits}", applies: .whenAbove("pasid_bits", 0),
                source: ProfileSource(.qemu, function: "vtd_check_hiod_accel (\"PASID bits size %d > host IOMMU PASID bits size %d\")",
                                      file: "hw/i386/intel_iommu_accel.c", version: "posted series, patchew-project/qemu commit 05213a66; not in qemu/qemu 554a719e",
                                      note: "QEMU skips the check for a device without PASID (max_pasid_log2 = 0) and reads PSS even without ECAP.PASID; capreg requires both, as the kernel's pasid_supported() does")),
            ProfileCondition(
                id: "device-pasid-width",
                requirement: "The passed-through device itself negotiated PASIDs at least as wide as the guest's: QEMU binds a guest PASID only below 1 << the device's max_pasid_log2, not the unit's width.",
                template: "iommufd.max_pasid_log2 >= {pasid_bits}", applies: .whenAbove("pasid_bits", 0),
                source: ProfileSource(.qemu, function: "vtd_accel_replay_single_pasid_bind_for_dev (pasid >= 1 << hiod->caps.max_pasid_log2 is not bound)",
                                      file: "hw/i386/intel_iommu_accel.c", version: "posted series with PASID support for the accelerated path; release not verified",
                                      note: "iommufd.max_pasid_log2 is IOMMU_GET_HW_INFO's out_max_pasid_log2 (6.15+), per device; a host with several devices keeps the smallest")),
            ProfileCondition(
                id: "dirty-tracking",
                requirement: "A dirty-tracking nest parent needs second-stage accessed/dirty bits and scalable-mode page-walk coherency, and the kernel must allow a dirty-tracking HWPT (usable `dirty_tracking`).",
                template: "vtd.ecap.slads and vtd.ecap.smpwc and dirty_tracking", applies: .whenTrue("dirty_tracking"),
                source: ProfileSource(.kernel, function: "intel_iommu_domain_alloc_second_stage (DIRTY_TRACKING) via ssads_supported()",
                                      file: "drivers/iommu/intel/iommu.c, iommu.h", version: linux,
                                      note: "ECAP.SMPWC was added to ssads_supported() by a 2025 fix; older kernels require ECAP.SLADS only")),
            ProfileCondition(
                id: "errata-ro",
                requirement: "Read-only mappings work in a nest parent: iommufd does not report erratum 772415 (SPR17).",
                template: "iommufd.vtd.errata_772415_spr17 = false", applies: .whenTrue("strict_ro"),
                source: ProfileSource(.kernel, function: "__domain_mapping (\"Read-only mapping is disallowed on the domain which serves as the parent\"), intel_iommu_hw_info",
                                      file: "drivers/iommu/intel/iommu.c", version: linux,
                                      note: "the driver sets the flag on every unit; QEMU's vtd_get_host_iommu_quirks turns it into NESTING_PARENT_BYPASS_RO and skips read-only mappings instead of refusing")),
        ])
}
