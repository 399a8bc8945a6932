/// VFIO and iommufd ioctl numbers (fact sheet §1.1, §3.1): `_IO(';', nr)`, no direction or size bits.
/// The encoding of "no direction" is architecture-specific; the struct layouts this collector writes
/// are those of 64-bit little-endian kernels, so it supports x86_64 and arm64 and nothing else.
public enum IoctlNumbers {
    /// nil where the collector does not know the ioctl encoding and layouts.
    public static let supported: Bool = {
        #if arch(x86_64) || arch(arm64)
        return true
        #else
        return false
        #endif
    }()

    public static let unsupportedDetail = "VFIO/iommufd collection is implemented for x86_64 and arm64 only"

    /// `_IO(';', nr)` on x86_64/arm64: `_IOC_NONE` is 0, so the type byte and the number only.
    static func io(_ nr: UInt) -> UInt { 0x3B00 | nr }

    public static let vfioGetAPIVersion = io(100 + 0)
    public static let vfioCheckExtension = io(100 + 1)
    public static let vfioSetIOMMU = io(100 + 2)
    public static let vfioGroupGetStatus = io(100 + 3)
    public static let vfioGroupSetContainer = io(100 + 4)
    public static let vfioIOMMUGetInfo = io(100 + 12)
    public static let vfioDeviceBindIOMMUFD = io(100 + 18)
    public static let iommuGetHWInfo = io(0x8A)
}

/// VFIO IOMMU types and extensions (fact sheet §1.2).
public enum VFIOType {
    public static let type1: Int32 = 1
    public static let type1v2: Int32 = 3
    public static let type1Nesting: Int32 = 6
    /// Extensions probed with VFIO_CHECK_EXTENSION, by value.
    public static let probed: ClosedRange<Int32> = 1...10
    /// SET_IOMMU order: nesting first, then the fallbacks.
    public static let attempts: [Int32] = [type1Nesting, type1v2, type1]
}
