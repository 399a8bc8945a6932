/// What an iommufd lets user space build, asked of the kernel: allocate, check, free. Nothing here
/// attaches a device to anything: every HWPT is allocated on a private IOAS while the device is only
/// bound, and every object is destroyed as soon as its answer is known (closing the iommufd would free
/// them too; destroying them at once keeps the window short and the count checkable).
struct IOMMUFDProbes {
    var io: any DeviceIO
    var iommufd: Int32

    /// The per-device keys in order; each has an outcome, `skipped` when an earlier step failed.
    static let deviceSequence = [
        "iommufd.open_device", "iommufd.bind", "iommufd.ioas_alloc",
        "iommufd.hwpt_alloc.plain", "iommufd.hwpt_alloc.nest_parent", "iommufd.hwpt_alloc.dirty_tracking", "iommufd.hwpt_alloc.pasid",
        "iommufd.viommu_alloc", "iommufd.vdevice_alloc", "iommufd.hw_info.input_type",
    ]

    /// Each command number with a zero-size argument (`iommufd.cmd.0xNN`): EINVAL/EFAULT known, ENOTTY
    /// unknown to this kernel. Returns the numbers the kernel dispatched (known).
    func commands(_ probes: inout ProbeMap) -> Set<UInt> {
        var known: Set<UInt> = []
        for n in IoctlNumbers.iommufdCommandsProbed {
            var zero = IOMMUFDArguments.zeroSize()
            let key = "iommufd.cmd.0x" + String(n, radix: 16)
            // A zero size is below every command's minimum; success would mean a kernel we do not understand.
            // Either way the command was dispatched unless the kernel answered ENOTTY.
            let answer = io.ioctl(iommufd, IoctlNumbers.iommufd(n), buffer: &zero, pointer: nil)
            probes.record(key, answer)
            if case .failure(let e) = answer, e.name == "ENOTTY" { continue }
            known.insert(n)
        }
        return known
    }

    /// The allocations for one bound device. `hwInfoType` is its IOMMU_GET_HW_INFO out_data_type (nil
    /// when that failed); `known` the command numbers this kernel knows. Returns notes for the detail.
    func device(devID: UInt32, hwInfoType: UInt32?, known: Set<UInt>, _ probes: inout ProbeMap) -> [String] {
        var notes: [String] = []
        func destroy(_ id: UInt32, _ what: String) {
            var arg = IOMMUFDArguments.destroy(id)
            if case .failure(let e) = io.ioctl(iommufd, IoctlNumbers.iommuDestroy, buffer: &arg, pointer: nil) {
                notes.append("IOMMU_DESTROY of the \(what) \(id): \(e.name) (freed when the iommufd closes)")
            }
        }
        /// One allocation: the outcome under `key`, the new object's id on success.
        func allocate(_ key: String, _ request: UInt, _ argument: [UInt8], outID: Int) -> UInt32? {
            var arg = argument
            return probes.record(key, io.ioctl(iommufd, request, buffer: &arg, pointer: nil)).map { _ in arg.u32(at: outID) }
        }

        guard let ioas = allocate("iommufd.ioas_alloc", IoctlNumbers.iommuIOASAlloc, IOMMUFDArguments.ioasAlloc(),
                                  outID: IOMMUFDArguments.ioasAllocOutID) else { return notes }
        func hwpt(_ name: String, _ flags: UInt32) -> UInt32? {
            allocate("iommufd.hwpt_alloc." + name, IoctlNumbers.iommuHWPTAlloc,
                     IOMMUFDArguments.hwptAlloc(flags: flags, devID: devID, ptID: ioas), outID: IOMMUFDArguments.hwptAllocOutID)
        }
        if let plain = hwpt("plain", 0) { destroy(plain, "plain HWPT") }
        if let parent = hwpt("nest_parent", IOMMUFDArguments.nestParent) {
            // A vIOMMU needs a nest parent and a kernel that knows the command (6.13+); a vDevice needs a vIOMMU.
            if known.contains(0x90) {
                let type = IOMMUFDArguments.viommuType(forHWInfoType: hwInfoType)
                if let viommu = allocate("iommufd.viommu_alloc", IoctlNumbers.iommuVIOMMUAlloc,
                                         IOMMUFDArguments.viommuAlloc(type: type, devID: devID, hwptID: parent),
                                         outID: IOMMUFDArguments.viommuAllocOutID) {
                    if known.contains(0x91),
                       let vdevice = allocate("iommufd.vdevice_alloc", IoctlNumbers.iommuVDeviceAlloc,
                                              IOMMUFDArguments.vdeviceAlloc(viommuID: viommu, devID: devID),
                                              outID: IOMMUFDArguments.vdeviceAllocOutID) {
                        destroy(vdevice, "vDevice")
                    }
                    destroy(viommu, "vIOMMU")
                }
            }
            destroy(parent, "nest-parent HWPT")
        }
        if let dirty = hwpt("dirty_tracking", IOMMUFDArguments.dirtyTracking) { destroy(dirty, "dirty-tracking HWPT") }
        if let pasid = hwpt("pasid", IOMMUFDArguments.pasid) { destroy(pasid, "PASID HWPT") }
        destroy(ioas, "IOAS")
        return notes
    }
}
