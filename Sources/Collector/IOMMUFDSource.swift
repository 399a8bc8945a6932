import Report

/// iommufd (6.6+, fact sheet §3.6): open /dev/iommu, open each vfio device cdev, bind it to the
/// iommufd (released when the cdev is closed; no driver binding changes), ask IOMMU_GET_HW_INFO, then
/// what the kernel lets user space build on it (IOMMUFDProbes). Sources:
/// - `probe` unit `iommufd`: iommufd.open, iommufd.devices and the zero-size command probes;
/// - per device: `iommufd` (raw: the 40-byte `struct iommu_hw_info` as returned, then the data_len bytes
///   of type-specific data) and `probe` (open_device, bind, the allocations).
/// A device whose group is held (a VM uses it) is reported EBUSY and gets no open and no ioctl.
public struct IOMMUFDSource: Sendable {
    public var io: any DeviceIO
    public var devRoot: String
    /// `/sys`, for a device's group, IOMMU unit and peers.
    public var sysfsRoot: String
    /// Room offered for the type-specific data (the largest known struct is 40 bytes).
    static let dataCapacity = 256
    static let structSize = IOMMUFDArguments.hwInfoSize

    public init(io: any DeviceIO = LinuxDeviceIO(), devRoot: String = "/dev", sysfsRoot: String = "/sys") {
        self.io = io
        self.devRoot = devRoot
        self.sysfsRoot = sysfsRoot
    }

    /// `devices` nil means every cdev present. A busy device is replaced, where its IOMMU unit has one,
    /// by an idle vfio device of the same unit that was not asked (what is allowed depends on the unit).
    public func collect(devices: [String]?) -> [Report.Source] {
        guard IoctlNumbers.supported else {
            return [Report.Source(kind: .iommufd, unit: "iommufd", status: .unavailable, reason: "ENOTSUP", detail: IoctlNumbers.unsupportedDetail)]
        }
        var kernel = ProbeMap()
        var kernelNotes: [String] = []
        let iommuPath = devRoot + "/iommu"
        let opened = io.open(iommuPath)
        kernel.record("iommufd.open", opened)
        let cdevDir = devRoot + "/vfio/devices"
        let listed = io.list(cdevDir)
        switch listed {
        case .success(let found): kernel.set("iommufd.devices", String(found.count))
        case .failure(let e):
            kernel.set("iommufd.devices", e.name)
            kernelNotes.append(Hint.step(cdevDir, e, path: cdevDir))
        }
        let names = devices ?? ((try? listed.get()) ?? [])

        let iommufd: Int32
        switch opened {
        case .success(let fd): iommufd = fd
        case .failure(let e):
            // No iommufd to ask: every device says why, and none is opened.
            let why = Hint.step("open \(iommuPath)", e, path: iommuPath)
            let out = [kernel.source(unit: "iommufd", detail: ([why] + kernelNotes).joined(separator: "; "))]
            return out + (names.isEmpty ? [unavailable("iommufd", e, why)] : names.map { unavailable($0, e, why) })
        }
        defer { io.close(iommufd) }
        let known = IOMMUFDProbes(io: io, iommufd: iommufd).commands(&kernel)
        var out = [kernel.source(unit: "iommufd", detail: kernelNotes.isEmpty ? nil : kernelNotes.joined(separator: "; "))]
        if names.isEmpty {
            switch listed {
            case .success: out.append(unavailable("iommufd", Errno(ENOENT_VALUE), "no device cdevs under \(cdevDir) (no device bound to a vfio driver)"))
            case .failure(let e): out.append(unavailable("iommufd", e, Hint.step(cdevDir, e, path: cdevDir)))
            }
            return out
        }

        let topology = Topology(io: io, sysfsRoot: sysfsRoot, devRoot: devRoot)
        var asked = Set(names)
        for name in names {
            let result = collect(device: name, iommufd: iommufd, known: known, topology: topology, standingInFor: nil)
            out += result.sources
            guard result.busy else { continue }
            for peer in topology.peerCdevs(of: name) where !asked.contains(peer) {
                asked.insert(peer)
                let stand = collect(device: peer, iommufd: iommufd, known: known, topology: topology, standingInFor: name)
                out += stand.sources
                if !stand.busy { break }
            }
        }
        return out
    }

    func unavailable(_ unit: String, _ e: Errno, _ detail: String) -> Report.Source {
        Report.Source(kind: .iommufd, unit: unit, status: .unavailable, reason: e.name, detail: detail)
    }

    /// One device: the in-use check, open, bind, hw_info and the allocations. Both sources, and whether
    /// the device was busy.
    func collect(device unit: String, iommufd: Int32, known: Set<UInt>, topology: Topology,
                 standingInFor busyPeer: String?) -> (sources: [Report.Source], busy: Bool) {
        var probes = ProbeMap()
        var steps: [String] = busyPeer.map { ["probed in place of busy \($0) (same IOMMU unit)"] } ?? []
        func finish(_ hwInfo: Report.Source, also: [Report.Source] = [], busy: Bool = false) -> (sources: [Report.Source], busy: Bool) {
            // A busy device was never opened: no open_device outcome, so the first refusal read is the EBUSY.
            probes.skipUnasked(busy ? Array(IOMMUFDProbes.deviceSequence.dropFirst()) : IOMMUFDProbes.deviceSequence)
            return ([hwInfo] + also + [probes.source(unit: unit, detail: steps.isEmpty ? nil : steps.joined(separator: "; "))], busy)
        }
        func failed(_ e: Errno, _ what: String, path: String? = nil) -> Report.Source {
            steps.append(Hint.step(what, e, path: path))
            return unavailable(unit, e, steps.joined(separator: "; "))
        }

        // In use? The group node answers EBUSY while a VM holds the group (legacy VFIO) or has any of its
        // devices open through a cdev; the device is then left alone. Opened here only for that answer.
        if let pci = topology.pciDevice(ofCdev: unit), let group = topology.group(ofPCI: pci) {
            let groupPath = devRoot + "/vfio/" + group
            switch io.open(groupPath) {
            case .success(let fd): io.close(fd)
            case .failure(let e) where e.name == "EBUSY":
                probes.set("iommufd.bind", "EBUSY")
                steps.append("in use: open \(groupPath): EBUSY (a VM or another process holds group \(group)); \(unit) was neither opened nor bound")
                return finish(unavailable(unit, e, steps.joined(separator: "; ")), busy: true)
            case .failure:
                break  // no group node (kernel without VFIO_GROUP) or not allowed: the bind answers for itself
            }
        }

        let path = devRoot + "/vfio/devices/" + unit
        let device: Int32
        let opened = io.open(path)
        probes.record("iommufd.open_device", opened)
        switch opened {
        case .success(let fd): device = fd
        case .failure(let e):
            return finish(failed(e, "open \(path)", path: path))
        }
        defer { io.close(device) }
        // struct vfio_device_bind_iommufd: +0 argsz, +4 flags, +8 iommufd, +12 out_devid.
        var bind = [UInt8](repeating: 0, count: 16)
        bind.setU32(16, at: 0)
        bind.setU32(UInt32(bitPattern: iommufd), at: 8)
        let bound = io.ioctl(device, IoctlNumbers.vfioDeviceBindIOMMUFD, buffer: &bind, pointer: nil)
        probes.record("iommufd.bind", bound)
        if case .failure(let e) = bound {
            // EINVAL here: the device is already open through another cdev (vfio_df_open), among others.
            return finish(failed(e, "VFIO_DEVICE_BIND_IOMMUFD"))
        }
        let devID = bind.u32(at: 12)

        let hwInfo = self.hwInfo(unit: unit, iommufd: iommufd, devID: devID, steps: &steps)
        var type: UInt32?
        if hwInfo.status == .ok, let raw = try? hwInfo.rawBytes(), raw.count >= IOMMUFDArguments.hwInfoType + 4 {
            type = raw.u32(at: IOMMUFDArguments.hwInfoType)
        }
        let notes = IOMMUFDProbes(io: io, iommufd: iommufd).device(devID: devID, hwInfoType: type, known: known, &probes)
        steps += notes
        // The Tegra241 CMDQV data exists only behind an SMMUv3 (hw_info type 2), and only 6.17+ takes an
        // input type: asked for explicitly, kept as its own source (`vfioN-tegra241`) when the kernel gives it.
        var tegra: [Report.Source] = []
        if type == 2 {
            let answer = self.hwInfo(unit: unit + "-tegra241", iommufd: iommufd, devID: devID, inputType: 3, steps: &steps)
            probes.set("iommufd.hw_info.input_type", answer.status == .ok ? "ok" : answer.reason ?? "EIO")
            if answer.status == .ok { tegra.append(answer) }
        }
        return finish(hwInfo, also: tegra)
    }

    /// IOMMU_GET_HW_INFO: the struct followed by the data area data_uptr points at.
    /// With `inputType`, IOMMU_HW_INFO_FLAG_INPUT_TYPE asks for that data type (6.17+); the flag stays in the raw bytes.
    func hwInfo(unit: String, iommufd: Int32, devID: UInt32, inputType: UInt32? = nil, steps: inout [String]) -> Report.Source {
        var buffer = IOMMUFDArguments.hwInfo(devID: devID, capacity: Self.dataCapacity, inputType: inputType)
        if case .failure(let e) = io.ioctl(iommufd, IoctlNumbers.iommuGetHWInfo, buffer: &buffer,
                                           pointer: (at: IOMMUFDArguments.hwInfoDataPointer, to: Self.structSize)) {
            steps.append("IOMMU_GET_HW_INFO: \(e.name)")
            return unavailable(unit, e, "dev_id \(devID); IOMMU_GET_HW_INFO: \(e.name)")
        }
        // The pointer is this process's address: meaningless elsewhere and different every run.
        for i in 16..<24 { buffer[i] = 0 }
        let dataLen = Int(buffer.u32(at: IOMMUFDArguments.hwInfoDataLength))
        var detail = "dev_id \(devID); data_len \(dataLen)"
        if dataLen > Self.dataCapacity { detail += " (truncated to \(Self.dataCapacity))" }
        let raw = Array(buffer[0..<(Self.structSize + min(dataLen, Self.dataCapacity))])
        return Report.Source(kind: .iommufd, unit: unit, detail: detail, raw: raw)
    }
}
