import Report

/// The legacy VFIO container sequence (fact sheet §1.7): open the container, probe the extensions,
/// attach the group, try the nesting type and fall back, then VFIO_IOMMU_GET_INFO with the argsz
/// re-query. Two sources per group: `vfio` (the whole GET_INFO buffer as raw) and `probe` (what each
/// step answered: vfio.open_container, vfio.check_extension.1…12, vfio.open_group, vfio.set_iommu.N).
/// Nothing is bound or unbound: the container is private and closing the group and container at the
/// end undoes everything this did. A group a VM holds answers EBUSY at open and gets nothing more.
public struct VFIOSource: Sendable {
    public var io: any DeviceIO
    /// `/dev` (tests point it elsewhere).
    public var devRoot: String
    /// `/sys`, for the IOMMU unit of a busy group and its peers.
    public var sysfsRoot: String

    public init(io: any DeviceIO = LinuxDeviceIO(), devRoot: String = "/dev", sysfsRoot: String = "/sys") {
        self.io = io
        self.devRoot = devRoot
        self.sysfsRoot = sysfsRoot
    }

    /// The steps every group's probe map has an outcome for (`skipped` when not reached).
    static let sequence = ["vfio.open_container"] + VFIOType.probed.map { "vfio.check_extension.\($0)" } + ["vfio.open_group", "vfio.set_iommu.6"]

    /// Group numbers present under /dev/vfio (every entry but the container).
    public func allGroups() -> Result<[String], Errno> {
        io.list(devRoot + "/vfio").map { $0.filter { $0.allSatisfy(\.isNumber) } }
    }

    /// The `vfio` and `probe` sources of each group; `groups` nil means every group present. A group
    /// that is in use is reported EBUSY and, where its IOMMU unit has an idle VFIO group that was not
    /// asked, that one is probed in its place (the answers depend on the unit, not the group).
    public func collect(groups: [String]?) -> [Report.Source] {
        guard IoctlNumbers.supported else {
            return [Report.Source(kind: .vfio, unit: "vfio", status: .unavailable, reason: "ENOTSUP", detail: IoctlNumbers.unsupportedDetail)]
        }
        let names: [String]
        if let groups { names = groups } else {
            let dir = devRoot + "/vfio"
            switch allGroups() {
            case .success(let found) where !found.isEmpty: names = found
            case .success:
                return [Report.Source(kind: .vfio, unit: "vfio", status: .unavailable, reason: "ENOENT", detail: "no VFIO groups under \(dir)"),
                        containerProbe()]
            case .failure(let e):
                return [Report.Source(kind: .vfio, unit: "vfio", status: .unavailable, reason: e.name, detail: Hint.step(dir, e, path: dir)),
                        containerProbe()]
            }
        }
        var out: [Report.Source] = []
        var asked = Set(names)
        let topology = Topology(io: io, sysfsRoot: sysfsRoot, devRoot: devRoot)
        for group in names {
            let result = probe(group: group, standingInFor: nil)
            out += [result.vfio, result.probe]
            guard result.busy else { continue }
            // In place of the busy group: the first idle peer on its unit that nobody asked yet.
            for peer in topology.peerGroups(of: group) where !asked.contains(peer) {
                asked.insert(peer)
                let stand = probe(group: peer, standingInFor: group)
                out += [stand.vfio, stand.probe]
                if !stand.busy { break }
            }
        }
        return out
    }

    /// No group to probe: the container alone, so the report still says whether VFIO is there at all.
    func containerProbe() -> Report.Source {
        var probes = ProbeMap()
        let path = devRoot + "/vfio/vfio"
        if let container = probes.record("vfio.open_container", io.open(path)) {
            checkExtensions(container, &probes)
            io.close(container)
        }
        return probes.source(unit: "vfio", detail: "no VFIO group to probe")
    }

    @discardableResult
    func checkExtensions(_ container: Int32, _ probes: inout ProbeMap) -> [Int32: String] {
        var answers: [Int32: String] = [:]
        for ext in VFIOType.probed {
            let answer: String
            switch io.ioctl(container, IoctlNumbers.vfioCheckExtension, value: ext) {
            case .success(let r): answer = String(r)
            case .failure(let e): answer = e.name
            }
            answers[ext] = answer
            probes.set("vfio.check_extension.\(ext)", answer)
        }
        return answers
    }

    public func collect(group: String) -> Report.Source {
        probe(group: group, standingInFor: nil).vfio
    }

    func probe(group: String, standingInFor busy: String?) -> (vfio: Report.Source, probe: Report.Source, busy: Bool) {
        let unit = "vfio-group-\(group)"
        var steps: [String] = busy.map { ["probed in place of busy group \($0) (same IOMMU unit)"] } ?? []
        var extras: [String: String] = [:]
        var probes = ProbeMap()
        func finish(_ vfio: Report.Source, busy: Bool = false) -> (vfio: Report.Source, probe: Report.Source, busy: Bool) {
            probes.skipUnasked(Self.sequence)
            return (vfio, probes.source(unit: unit, detail: steps.joined(separator: "; ")), busy)
        }
        func unavailable(_ e: Errno, _ what: String, path: String? = nil) -> Report.Source {
            steps.append(Hint.step(what, e, path: path))
            return Report.Source(kind: .vfio, unit: unit, status: .unavailable, reason: e.name, detail: steps.joined(separator: "; "),
                                 decoded: extras.isEmpty ? nil : extras)
        }

        let containerPath = devRoot + "/vfio/vfio"
        let container: Int32
        let openedContainer = io.open(containerPath)
        probes.record("vfio.open_container", openedContainer)
        switch openedContainer {
        case .success(let fd): container = fd
        case .failure(let e):
            return finish(unavailable(e, "open \(containerPath)", path: containerPath))
        }
        defer { io.close(container) }
        switch io.ioctl(container, IoctlNumbers.vfioGetAPIVersion, value: 0) {
        case .success(let v) where v == 0: steps.append("api 0")
        case .success(let v): return finish(unavailable(Errno(EPROTO_VALUE), "VFIO API version \(v), expected 0"))
        case .failure(let e): return finish(unavailable(e, "VFIO_GET_API_VERSION"))
        }
        let answers = checkExtensions(container, &probes)
        for ext in VFIOType.listed { extras["collector.check_extension.\(ext)"] = answers[ext] }
        steps.append("check_extension " + VFIOType.listed.map { "\($0)=\(answers[$0] ?? "?")" }.joined(separator: " "))

        let groupPath = devRoot + "/vfio/" + group
        let groupFD: Int32
        let openedGroup = io.open(groupPath)
        probes.record("vfio.open_group", openedGroup)
        switch openedGroup {
        case .success(let fd): groupFD = fd
        case .failure(let e):
            return finish(unavailable(e, "open \(groupPath)", path: groupPath), busy: e.name == "EBUSY")
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
            return finish(unavailable(e, "VFIO_GROUP_SET_CONTAINER (group not viable unless all its devices are bound to vfio drivers)"))
        }

        // Nesting first, then the fallbacks; each answer is a probe outcome. The first that takes stays.
        var chosen: Int32?
        var lastError = Errno(EINVAL_VALUE)
        for type in VFIOType.attempts {
            let answer = io.ioctl(container, IoctlNumbers.vfioSetIOMMU, value: type)
            probes.record("vfio.set_iommu.\(type)", answer)
            switch answer {
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
        guard let chosen else { return finish(unavailable(lastError, "no type1 IOMMU type could be set")) }
        extras["collector.iommu_type"] = String(chosen)

        switch getInfo(container) {
        case .success(let (buffer, sizes)):
            steps.append("get_info argsz " + sizes.map(String.init).joined(separator: "→"))
            return finish(Report.Source(kind: .vfio, unit: unit, detail: steps.joined(separator: "; "), raw: buffer, decoded: extras))
        case .failure(let e):
            return finish(unavailable(e, "VFIO_IOMMU_GET_INFO"))
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
