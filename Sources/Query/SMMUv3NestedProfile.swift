/// `smmuv3-nested`: QEMU's arm-smmuv3 with accel=on (a vSMMU backed by iommufd's vIOMMU), checked
/// against the host SMMUv3 registers iommufd reports. QEMU compares each host ID field with the one
/// its own vSMMU advertises (smmuv3_init_id_regs); the templates spell those values out.
extension CompatibilityProfile {
    static let qemuSMMU = "qemu/qemu commit d21a442a (accel=on; release not verified)"
    static let linuxSMMU = "torvalds/linux (arm-smmu-v3-iommufd.c, iommufd vIOMMU era)"

    public static let smmuv3Nested = CompatibilityProfile(
        name: "smmuv3-nested",
        summary: "Arm SMMUv3 host can back a guest vSMMU with nested (stage-1 on stage-2) translation: QEMU arm-smmuv3 accel=on over iommufd.",
        parameters: [
            .int("oas_bits", default: 44, range: 44...48,
                 "vSMMU output address size (arm-smmuv3 oas): QEMU accepts 44 or 48 with accel=on."),
            .int("ssid_bits", default: 0, range: 0...20,
                 "vSMMU SubstreamID (PASID) width (arm-smmuv3 ssidsize); 0 for none."),
            .bool("ril", default: true,
                  "The vSMMU advertises range invalidation (arm-smmuv3 ril, on by default)."),
        ],
        conditions: [
            ProfileCondition(
                id: "iommufd-smmuv3",
                requirement: "The device is backed by iommufd and IOMMU_GET_HW_INFO reports Arm SMMUv3 data.",
                template: #"iommufd.data_type = "arm-smmuv3""#, applies: .always,
                source: ProfileSource(.qemu, function: "smmuv3_accel_hw_compatible (\"Wrong data type (%d) for Host SMMUv3 device info\")",
                                      file: "hw/arm/smmuv3-accel.c", version: qemuSMMU)),
            ProfileCondition(
                id: "nesting",
                requirement: "The host SMMU has both stages (IDR0.S1P and IDR0.S2P): the kernel's ARM_SMMU_FEAT_NESTING.",
                template: "smmu.idr0.s1p and smmu.idr0.s2p", applies: .always,
                source: ProfileSource(.kernel, function: "arm_vsmmu_alloc / arm_smmu_get_viommu_size (ARM_SMMU_FEAT_NESTING)",
                                      file: "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c", version: linuxSMMU,
                                      note: "FEAT_NESTING is set in arm_smmu_device_hw_probe when both stage features are present")),
            ProfileCondition(
                id: "kernel-nest-parent",
                requirement: "The running kernel gives a VM a nest parent on this SMMU: the collector's IOMMU_HWPT_ALLOC with NEST_PARENT succeeded (usable `nesting`).",
                template: "nesting", applies: .always,
                source: ProfileSource(.kernel, function: "arm_smmu_domain_alloc_paging_flags (IOMMU_HWPT_ALLOC_NEST_PARENT needs ARM_SMMU_FEAT_NESTING)",
                                      file: "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c", version: linuxSMMU,
                                      note: "asked by the collector's probe (probe.iommufd.hwpt_alloc.nest_parent)")),
            ProfileCondition(
                id: "coherent",
                requirement: "The guest cannot make DMA non-coherent: the kernel needs the device's CANWBS or the SMMU's S2FWB (IDR3.FWB).",
                template: "smmu.idr3.fwb", applies: .always,
                source: ProfileSource(.kernel, function: "arm_vsmmu_alloc (arm_smmu_master_canwbs || ARM_SMMU_FEAT_S2FWB)",
                                      file: "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c", version: linuxSMMU,
                                      note: "stricter than the kernel: CANWBS comes from the ACPI IORT per device, which capreg does not collect, so only S2FWB counts")),
            ProfileCondition(
                id: "stream-table",
                requirement: "The host supports 2-level stream tables, as the vSMMU does (IDR0.ST_LEVEL = 1).",
                template: "smmu.idr0.st_level = 1", applies: .always,
                source: ProfileSource(.qemu, function: "smmuv3_accel_check_hw_compatible (\"Stream Table format mismatch\")", file: "hw/arm/smmuv3-accel.c", version: qemuSMMU)),
            ProfileCondition(
                id: "little-endian",
                requirement: "The host walks little-endian tables (IDR0.TTENDIAN no greater than the vSMMU's 2).",
                template: "smmu.idr0.ttendian <= 2", applies: .always,
                source: ProfileSource(.qemu, function: "smmuv3_accel_check_hw_compatible (\"doesn't support Little-endian translation table\")", file: "hw/arm/smmuv3-accel.c", version: qemuSMMU)),
            ProfileCondition(
                id: "aarch64-tables",
                requirement: "The host supports the AArch64 table format (IDR0.TTF at least 2).",
                template: "smmu.idr0.ttf >= 2", applies: .always,
                source: ProfileSource(.qemu, function: "smmuv3_accel_check_hw_compatible (\"doesn't support AArch64 translation table format\")", file: "hw/arm/smmuv3-accel.c", version: qemuSMMU)),
            ProfileCondition(
                id: "sid-size",
                requirement: "The host StreamID width is at least the vSMMU's 16 bits.",
                template: "smmu.idr1.sidsize >= 16", applies: .always,
                source: ProfileSource(.qemu, function: "smmuv3_accel_check_hw_compatible (\"SIDSIZE not compatible\")", file: "hw/arm/smmuv3-accel.c", version: qemuSMMU)),
            ProfileCondition(
                id: "ssid-size",
                requirement: "The host SubstreamID width is at least the vSMMU's.",
                template: "smmu.idr1.ssidsize >= {ssid_bits}", applies: .whenAbove("ssid_bits", 0),
                source: ProfileSource(.qemu, function: "smmuv3_accel_check_hw_compatible (\"SSIDSIZE not compatible\")", file: "hw/arm/smmuv3-accel.c", version: qemuSMMU)),
            ProfileCondition(
                id: "range-invalidation",
                requirement: "A vSMMU with range invalidation needs it on the host (IDR3.RIL).",
                template: "smmu.idr3.ril", applies: .whenTrue("ril"),
                source: ProfileSource(.qemu, function: "smmuv3_accel_check_hw_compatible (\"doesn't support Range Invalidation\")", file: "hw/arm/smmuv3-accel.c", version: qemuSMMU)),
            ProfileCondition(
                id: "output-size",
                requirement: "The host output address size covers the vSMMU's (IDR5.OAS).",
                template: "smmu.oas_bits >= {oas_bits}", applies: .always,
                source: ProfileSource(.qemu, function: "smmuv3_accel_check_hw_compatible (\"supports only %d-bit IPA\")", file: "hw/arm/smmuv3-accel.c", version: qemuSMMU,
                                      note: "QEMU compares the encoded OAS fields; the encoding is monotonic, so comparing bits is the same")),
            ProfileCondition(
                id: "granules",
                requirement: "The host supports the 4K, 16K and 64K granules the vSMMU advertises (QEMU requires equality).",
                template: "smmu.idr5.gran4k and smmu.idr5.gran16k and smmu.idr5.gran64k", applies: .always,
                source: ProfileSource(.qemu, function: "smmuv3_accel_check_hw_compatible (\"doesn't support 4K/16K/64K translation granule\")", file: "hw/arm/smmuv3-accel.c", version: qemuSMMU)),
        ])
}
