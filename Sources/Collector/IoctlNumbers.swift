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

    /// iommufd commands (uapi linux/iommufd.h enum, `_IO(';', 0x80 + n)`).
    public static func iommufd(_ command: UInt) -> UInt { io(command) }
    public static let iommuDestroy = io(0x80)
    public static let iommuIOASAlloc = io(0x81)
    public static let iommuHWPTAlloc = io(0x89)
    public static let iommuGetHWInfo = io(0x8A)
    public static let iommuVIOMMUAlloc = io(0x90)
    public static let iommuVDeviceAlloc = io(0x91)
    /// Command numbers asked with a zero-size argument (IOMMUFD_CMD_BASE to a few past the newest known).
    public static let iommufdCommandsProbed: ClosedRange<UInt> = 0x80...0x97
}

/// VFIO IOMMU types and extensions (fact sheet §1.2).
public enum VFIOType {
    public static let type1: Int32 = 1
    public static let type1v2: Int32 = 3
    public static let type1Nesting: Int32 = 6
    /// Extensions asked with VFIO_CHECK_EXTENSION, by value: 11 and 12 are unassigned today, so a
    /// kernel answering 1 there has a uAPI this collector does not know.
    public static let probed: ClosedRange<Int32> = 1...12
    /// The ones listed in the `vfio` source's detail and `decoded` (its format since 0.1.0).
    public static let listed: ClosedRange<Int32> = 1...10
    /// SET_IOMMU order: nesting first, then the fallbacks.
    public static let attempts: [Int32] = [type1Nesting, type1v2, type1]
}
