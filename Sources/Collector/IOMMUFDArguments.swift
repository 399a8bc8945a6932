/// Argument buffers of the iommufd commands the probes send, written field by field at the offsets of
/// include/uapi/linux/iommufd.h (torvalds/linux b4d90dbc, x86_64/arm64, little-endian). Every struct
/// starts with its own size; the newest size is sent with later fields zero, which older kernels accept
/// (they check that bytes past what they know are zero: "E2BIG" otherwise, never a misread).
enum IOMMUFDArguments {
    /// struct iommu_destroy: +0 size, +4 id.
    static func destroy(_ id: UInt32) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 8)
        b.setU32(8, at: 0)
        b.setU32(id, at: 4)
        return b
    }

    /// struct iommu_ioas_alloc: +0 size, +4 flags (0), +8 out_ioas_id.
    static func ioasAlloc() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 12)
        b.setU32(12, at: 0)
        return b
    }
    static let ioasAllocOutID = 8

    /// struct iommu_hwpt_alloc (48 bytes since 6.11, 40 before): +0 size, +4 flags, +8 dev_id, +12 pt_id,
    /// +16 out_hwpt_id, +20 __reserved, +24 data_type (0: none, a kernel-managed table), +28 data_len,
    /// +32 data_uptr u64, +40 fault_id, +44 __reserved2.
    static func hwptAlloc(flags: UInt32, devID: UInt32, ptID: UInt32) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 48)
        b.setU32(48, at: 0)
        b.setU32(flags, at: 4)
        b.setU32(devID, at: 8)
        b.setU32(ptID, at: 12)
        return b
    }
    static let hwptAllocOutID = 16

    /// enum iommufd_hwpt_alloc_flags.
    static let nestParent: UInt32 = 1 << 0
    static let dirtyTracking: UInt32 = 1 << 1
    static let pasid: UInt32 = 1 << 3

    /// struct iommu_viommu_alloc (6.13): +0 size, +4 flags, +8 type, +12 dev_id, +16 hwpt_id,
    /// +20 out_viommu_id, +24 data_len, +28 __reserved, +32 data_uptr u64 → 40 bytes.
    static func viommuAlloc(type: UInt32, devID: UInt32, hwptID: UInt32) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 40)
        b.setU32(40, at: 0)
        b.setU32(type, at: 8)
        b.setU32(devID, at: 12)
        b.setU32(hwptID, at: 16)
        return b
    }
    static let viommuAllocOutID = 20

    /// enum iommu_viommu_type for a device's hw_info type: ARM_SMMUV3 (hw_info 2) → 1. Other IOMMUs
    /// have no type in the uAPI read; DEFAULT (0) is sent and the kernel's refusal is the answer.
    static func viommuType(forHWInfoType type: UInt32?) -> UInt32 { type == 2 ? 1 : 0 }

    /// struct iommu_vdevice_alloc (6.13): +0 size, +4 viommu_id, +8 dev_id, +12 out_vdevice_id,
    /// +16 virt_id u64 (the guest's id for the device; 0 here) → 24 bytes.
    static func vdeviceAlloc(viommuID: UInt32, devID: UInt32) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 24)
        b.setU32(24, at: 0)
        b.setU32(viommuID, at: 4)
        b.setU32(devID, at: 8)
        return b
    }
    static let vdeviceAllocOutID = 12

    /// struct iommu_hw_info (40 bytes since 6.7) followed by `capacity` bytes for the type-specific data
    /// that data_uptr (+16) points at: +0 size, +4 flags, +8 dev_id, +12 data_len, +24 in/out_data_type.
    /// flags bit 0 (IOMMU_HW_INFO_FLAG_INPUT_TYPE, 6.17) makes +24 an input.
    static func hwInfo(devID: UInt32, capacity: Int, inputType: UInt32? = nil) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: hwInfoSize + capacity)
        b.setU32(UInt32(hwInfoSize), at: 0)
        b.setU32(devID, at: 8)
        b.setU32(UInt32(capacity), at: 12)
        if let inputType {
            b.setU32(1, at: 4)
            b.setU32(inputType, at: 24)
        }
        return b
    }
    static let hwInfoSize = 40
    static let hwInfoDataPointer = 16
    static let hwInfoDataLength = 12
    static let hwInfoType = 24

    /// A zero-size argument: the u32 size the kernel reads first is 0, below every command's minimum,
    /// so a known command answers EINVAL before copying or doing anything; an unknown one ENOTTY.
    static func zeroSize() -> [UInt8] { [UInt8](repeating: 0, count: 8) }
}
