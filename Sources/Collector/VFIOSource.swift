import Report

/// The legacy VFIO container sequence (fact sheet §1.7): open the container, probe the extensions,
/// attach the group, try the nesting type and fall back, then VFIO_IOMMU_GET_INFO with the argsz
/// re-query. The whole returned buffer is the source's raw. Nothing is bound or unbound: closing the
/// group and container at the end undoes everything this did.
public struct VFIOSource: Sendable {
    public var io: any DeviceIO
    /// `/dev` (tests point it elsewhere).
    public var devRoot: String

    public init(io: any DeviceIO = LinuxDeviceIO(), devRoot: String = "/dev") {
        self.io = io
        self.devRoot = devRoot
    }

    /// Group numbers present under /dev/vfio (every entry but the container).
    public func allGroups() -> Result<[String], Errno> {
        io.list(devRoot + "/vfio").map { $0.filter { $0.allSatisfy(\.isNumber) } }
    }

    /// One source per group; `groups` nil means every group present.
    public func collect(groups: [String]?) -> [Report.Source] {
        guard IoctlNumbers.supported else {
            return [Report.Source(kind: .vfio, unit: "vfio", status: .unavailable, reason: "ENOTSUP", detail: IoctlNumbers.unsupportedDetail)]
        }
        let names: [String]
        if let groups { names = groups } else {
            switch allGroups() {
            case .success(let found) where !found.isEmpty: names = found
            case .success: return [Report.Source(kind: .vfio, unit: "vfio", status: .unavailable, reason: "ENOENT", detail: "no VFIO groups under \(devRoot)/vfio")]
            case .failure(let e): return [Report.Source(kind: .vfio, unit: "vfio", status: .unavailable, reason: e.name, detail: "\(devRoot)/vfio: \(e.name)")]
            }
        }
        return names.map(collect(group:))
    }

    public func collect(group: String) -> Report.Source {
        let unit = "vfio-group-\(group)"
        var steps: [String] = []
        var extras: [String: String] = [:]
        func unavailable(_ e: Errno, _ what: String) -> Report.Source {
            steps.append("\(what): \(e.name)")
            return Report.Source(kind: .vfio, unit: unit, status: .unavailable, reason: e.name, detail: steps.joined(separator: "; "),
                                 decoded: extras.isEmpty ? nil : extras)
        }

        let containerPath = devRoot + "/vfio/vfio"
        let container: Int32
        switch io.open(containerPath) {
        case .success(let fd): container = fd
        case .failure(let e): return unavailable(e, "open \(containerPath)")
        }
        defer { io.close(container) }
        switch io.ioctl(container, IoctlNumbers.vfioGetAPIVersion, value: 0) {
        case .success(let v) where v == 0: steps.append("api 0")
        case .success(let v): return unavailable(Errno(EPROTO_VALUE), "VFIO API version \(v), expected 0")
        case .failure(let e): return unavailable(e, "VFIO_GET_API_VERSION")
        }
        var checks: [String] = []
        for ext in VFIOType.probed {
            let answer: String
            switch io.ioctl(container, IoctlNumbers.vfioCheckExtension, value: ext) {
            case .success(let r): answer = String(r)
            case .failure(let e): answer = e.name
            }
            checks.append("\(ext)=\(answer)")
            extras["collector.check_extension.\(ext)"] = answer
        }
        steps.append("check_extension " + checks.joined(separator: " "))

        let groupPath = devRoot + "/vfio/" + group
        let groupFD: Int32
        switch io.open(groupPath) {
        case .success(let fd): groupFD = fd
        case .failure(let e): return unavailable(e, "open \(groupPath)")
        }
        defer { io.close(groupFD) }
        var status = [UInt8](repeating: 0, count: 8)
        status.setU32(8, at: 0)
        if case .success = io.ioctl(groupFD, IoctlNumbers.vfioGroupGetStatus, buffer: &status, pointer: nil) {
            steps.append("group flags 0x\(String(status.u32(at: 4), radix: 16))")
        }
        var fdArgument = [UInt8](repeating: 0, count: 4)
        fdArgument.setU32(UInt32(bitPattern: container), at: 0)
        if case .failure(let e) = io.ioctl(groupFD, IoctlNumbers.vfioGroupSetContainer, buffer: &fdArgument, pointer: nil) {
            return unavailable(e, "VFIO_GROUP_SET_CONTAINER (group not viable unless all its devices are bound to vfio drivers)")
        }

        var chosen: Int32?
        var lastError = Errno(EINVAL_VALUE)
        for type in VFIOType.attempts {
            switch io.ioctl(container, IoctlNumbers.vfioSetIOMMU, value: type) {
            case .success:
                steps.append("set_iommu \(type) ok")
                extras["collector.set_iommu.\(type)"] = "ok"
                chosen = type
            case .failure(let e):
                steps.append("set_iommu \(type) \(e.name)")
                extras["collector.set_iommu.\(type)"] = e.name
                lastError = e
            }
            if chosen != nil { break }
        }
        guard let chosen else { return unavailable(lastError, "no type1 IOMMU type could be set") }
        extras["collector.iommu_type"] = String(chosen)

        switch getInfo(container) {
        case .success(let (buffer, sizes)):
            steps.append("get_info argsz " + sizes.map(String.init).joined(separator: "→"))
            return Report.Source(kind: .vfio, unit: unit, detail: steps.joined(separator: "; "), raw: buffer, decoded: extras)
        case .failure(let e):
            return unavailable(e, "VFIO_IOMMU_GET_INFO")
        }
    }

    /// GET_INFO with a 24-byte struct, then again with the argsz the kernel asked for, until it fits
    /// (the answer may grow between calls; a few rounds at most). Returns the buffer and the sizes tried.
    func getInfo(_ container: Int32) -> Result<([UInt8], [Int]), Errno> {
        var size = 24
        var tried: [Int] = []
        for _ in 0..<4 {
            var buffer = [UInt8](repeating: 0, count: size)
            buffer.setU32(UInt32(size), at: 0)
            tried.append(size)
            if case .failure(let e) = io.ioctl(container, IoctlNumbers.vfioIOMMUGetInfo, buffer: &buffer, pointer: nil) {
                return .failure(e)
            }
            let wanted = Int(buffer.u32(at: 0))
            if wanted <= size { return .success((buffer, tried)) }
            guard wanted <= 1 << 20 else { return .failure(Errno(E2BIG_VALUE)) }
            size = wanted
        }
        return .failure(Errno(EAGAIN_VALUE))
    }
}
