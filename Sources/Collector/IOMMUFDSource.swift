import Report

/// iommufd (6.6+, fact sheet §3.6): open /dev/iommu, open each vfio device cdev, bind it to the
/// iommufd (released when the cdev is closed; no driver binding changes) and ask IOMMU_GET_HW_INFO.
/// Raw: the 40-byte `struct iommu_hw_info` as returned, then the data_len bytes of type-specific data.
public struct IOMMUFDSource: Sendable {
    public var io: any DeviceIO
    public var devRoot: String
    /// Room offered for the type-specific data (the largest known struct is 40 bytes).
    static let dataCapacity = 256
    static let structSize = 40

    public init(io: any DeviceIO = LinuxDeviceIO(), devRoot: String = "/dev") {
        self.io = io
        self.devRoot = devRoot
    }

    /// One source per device cdev (`vfio0`, …); `devices` nil means every cdev present.
    public func collect(devices: [String]?) -> [Report.Source] {
        guard IoctlNumbers.supported else {
            return [Report.Source(kind: .iommufd, unit: "iommufd", status: .unavailable, reason: "ENOTSUP", detail: IoctlNumbers.unsupportedDetail)]
        }
        let cdevDir = devRoot + "/vfio/devices"
        let names: [String]
        if let devices { names = devices } else {
            switch io.list(cdevDir) {
            case .success(let found) where !found.isEmpty: names = found
            case .success: return [unavailable("iommufd", Errno(ENOENT_VALUE), "no device cdevs under \(cdevDir)")]
            case .failure(let e):
                return [unavailable("iommufd", e, "\(cdevDir): \(e.name) (kernel without CONFIG_VFIO_DEVICE_CDEV, or no device bound to vfio)")]
            }
        }
        let iommuPath = devRoot + "/iommu"
        let iommufd: Int32
        switch io.open(iommuPath) {
        case .success(let fd): iommufd = fd
        case .failure(let e):
            return names.map { unavailable($0, e, "open \(iommuPath): \(e.name) (kernel without CONFIG_IOMMUFD?)") }
        }
        defer { io.close(iommufd) }
        return names.map { collect(device: $0, iommufd: iommufd, path: cdevDir + "/" + $0) }
    }

    func unavailable(_ unit: String, _ e: Errno, _ detail: String) -> Report.Source {
        Report.Source(kind: .iommufd, unit: unit, status: .unavailable, reason: e.name, detail: detail)
    }

    func collect(device unit: String, iommufd: Int32, path: String) -> Report.Source {
        let device: Int32
        switch io.open(path) {
        case .success(let fd): device = fd
        case .failure(let e): return unavailable(unit, e, "open \(path): \(e.name)")
        }
        defer { io.close(device) }
        // struct vfio_device_bind_iommufd: argsz, flags, iommufd, out_devid.
        var bind = [UInt8](repeating: 0, count: 16)
        bind.setU32(16, at: 0)
        bind.setU32(UInt32(bitPattern: iommufd), at: 8)
        if case .failure(let e) = io.ioctl(device, IoctlNumbers.vfioDeviceBindIOMMUFD, buffer: &bind, pointer: nil) {
            return unavailable(unit, e, "VFIO_DEVICE_BIND_IOMMUFD: \(e.name)")
        }
        let devID = bind.u32(at: 12)
        // struct iommu_hw_info (40 bytes) followed by the data area data_uptr points at.
        var buffer = [UInt8](repeating: 0, count: Self.structSize + Self.dataCapacity)
        buffer.setU32(UInt32(Self.structSize), at: 0)
        buffer.setU32(devID, at: 8)
        buffer.setU32(UInt32(Self.dataCapacity), at: 12)
        if case .failure(let e) = io.ioctl(iommufd, IoctlNumbers.iommuGetHWInfo, buffer: &buffer, pointer: (at: 16, to: Self.structSize)) {
            return unavailable(unit, e, "IOMMU_GET_HW_INFO: \(e.name)")
        }
        // The pointer is this process's address: meaningless elsewhere and different every run.
        for i in 16..<24 { buffer[i] = 0 }
        let dataLen = Int(buffer.u32(at: 12))
        var detail = "dev_id \(devID); data_len \(dataLen)"
        if dataLen > Self.dataCapacity { detail += " (truncated to \(Self.dataCapacity))" }
        let raw = Array(buffer[0..<(Self.structSize + min(dataLen, Self.dataCapacity))])
        return Report.Source(kind: .iommufd, unit: unit, detail: detail, raw: raw)
    }
}
