import Collector
import Foundation
import Synchronization

/// Replays what a real kernel answered (the captures' console.txt): paths that exist, CHECK_EXTENSION
/// answers, which SET_IOMMU types fail and how, the GET_INFO buffer with its argsz re-query, an iommufd
/// hw_info answer, which iommufd commands a zero-size probe finds, and which HWPT allocations fail.
/// Keeps the iommufd objects it handed out, so tests can check each was destroyed, and records every
/// call so tests can check the sequence.
final class FakeKernel: DeviceIO, @unchecked Sendable {
    var files: [String: Int32] = [:]           // path → fd
    var openErrors: [String: Errno] = [:]
    var directories: [String: [String]] = [:]
    var links: [String: String] = [:]
    var extensions: [Int32: Int32] = [:]
    var setIOMMUErrors: [Int32: Errno] = [:]
    var infoBuffer: [UInt8] = []
    var hwInfoStruct: [UInt8] = []
    var hwInfoData: [UInt8] = []
    /// 6.17+: answers to IOMMU_HW_INFO_FLAG_INPUT_TYPE by requested type (struct, data); none: flags must be 0.
    var inputTypeAnswers: [UInt32: (info: [UInt8], data: [UInt8])] = [:]
    var bindErrors: [Int32: Errno] = [:]       // device fd → errno of VFIO_DEVICE_BIND_IOMMUFD
    /// iommufd command numbers this kernel dispatches (6.12: 0x80–0x8e); others answer ENOTTY.
    var iommufdKnown: Set<UInt> = Set(0x80...0x8e)
    /// IOMMU_HWPT_ALLOC flags → errno (absent: allocated).
    var hwptErrors: [UInt32: Errno] = [:]
    var viommuError: Errno?
    var vdeviceError: Errno?
    /// Object ids alive in the iommufd, every id ever handed out, and what each holds a reference on
    /// (HWPT → IOAS, vIOMMU → HWPT, vDevice → vIOMMU): like the kernel, destroying a referenced object is EBUSY.
    private(set) var live: Set<UInt32> = []
    private(set) var allocated: [UInt32] = []
    private var holds: [UInt32: UInt32] = [:]
    private var nextID: UInt32 = 2
    private let log = Mutex<[String]>([])
    var calls: [String] { log.withLock { $0 } }

    func record(_ s: String) { log.withLock { $0.append(s) } }

    func open(_ path: String) -> Result<Int32, Errno> {
        record("open \(path)")
        if let e = openErrors[path] { return .failure(e) }
        if let fd = files[path] { return .success(fd) }
        return .failure(Errno(ENOENT))
    }

    func close(_ fd: Int32) { record("close \(fd)") }

    func ioctl(_ fd: Int32, _ request: UInt, value: Int32) -> Result<Int32, Errno> {
        record("ioctl \(fd) 0x\(String(request, radix: 16)) \(value)")
        switch request {
        case IoctlNumbers.vfioGetAPIVersion: return .success(0)
        case IoctlNumbers.vfioCheckExtension: return .success(extensions[value] ?? 0)
        case IoctlNumbers.vfioSetIOMMU: return setIOMMUErrors[value].map { .failure($0) } ?? .success(0)
        default: return .failure(Errno(ENOTTY))
        }
    }

    private func newObject(holding parent: UInt32? = nil) -> UInt32 {
        let id = nextID
        nextID += 1
        live.insert(id)
        allocated.append(id)
        holds[id] = parent
        return id
    }

    func ioctl(_ fd: Int32, _ request: UInt, buffer: inout [UInt8], pointer: (at: Int, to: Int)?) -> Result<Int32, Errno> {
        record("ioctl \(fd) 0x\(String(request, radix: 16)) [\(buffer.count)]")
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(buffer[o + $1]) << (8 * $1) } }
        func put(_ v: UInt32, _ o: Int) { for i in 0..<4 { buffer[o + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        // iommufd: the kernel reads the u32 size first; below the command's minimum → EINVAL, unknown → ENOTTY.
        if request & 0xFF00 == 0x3B00, request & 0xFF >= 0x80 {
            guard iommufdKnown.contains(request & 0xFF) else { return .failure(Errno(ENOTTY)) }
            if u32(0) == 0 { return .failure(Errno(EINVAL)) }
        }
        switch request {
        case IoctlNumbers.vfioGroupGetStatus:
            buffer[4] = 1
            return .success(0)
        case IoctlNumbers.vfioGroupSetContainer: return .success(0)
        case IoctlNumbers.vfioIOMMUGetInfo:
            // Like type1 before 6.6: too small → only argsz/flags/pgsizes, argsz := needed, cap_offset 0.
            let argsz = Int(u32(0))
            if argsz < infoBuffer.count {
                for i in 0..<16 { buffer[i] = infoBuffer[i] }
                return .success(0)
            }
            for i in 0..<infoBuffer.count { buffer[i] = infoBuffer[i] }
            return .success(0)
        case IoctlNumbers.vfioDeviceBindIOMMUFD:
            if let e = bindErrors[fd] { return .failure(e) }
            buffer[12] = 1
            return .success(0)
        case IoctlNumbers.iommuGetHWInfo:
            guard let pointer else { return .failure(Errno(EFAULT)) }
            var (info, data) = (hwInfoStruct, hwInfoData)
            if u32(4) != 0 {
                // flags must be 0 before 6.17; from 6.17 bit 0 asks for the type at +24.
                guard u32(4) == 1, let answer = inputTypeAnswers[u32(24)] else { return .failure(Errno(EOPNOTSUPP)) }
                (info, data) = answer
            }
            let offered = Int(u32(12))
            for i in 0..<info.count where i < 16 || i >= 24 { buffer[i] = info[i] }
            buffer[16] = 0xAA  // the kernel leaves data_uptr as given; make sure the collector clears it
            for (i, b) in data.prefix(offered).enumerated() { buffer[pointer.to + i] = b }
            return .success(0)
        case IoctlNumbers.iommuIOASAlloc:
            put(newObject(), 8)
            return .success(0)
        case IoctlNumbers.iommuHWPTAlloc:
            guard live.contains(u32(12)) else { return .failure(Errno(ENOENT)) }
            if let e = hwptErrors[u32(4)] { return .failure(e) }
            put(newObject(holding: u32(12)), 16)
            return .success(0)
        case IoctlNumbers.iommuVIOMMUAlloc:
            guard live.contains(u32(16)) else { return .failure(Errno(ENOENT)) }
            if let e = viommuError { return .failure(e) }
            put(newObject(holding: u32(16)), 20)
            return .success(0)
        case IoctlNumbers.iommuVDeviceAlloc:
            guard live.contains(u32(4)) else { return .failure(Errno(ENOENT)) }
            if let e = vdeviceError { return .failure(e) }
            put(newObject(holding: u32(4)), 12)
            return .success(0)
        case IoctlNumbers.iommuDestroy:
            let id = u32(4)
            guard live.contains(id) else { return .failure(Errno(ENOENT)) }
            if live.contains(where: { holds[$0] == id }) { return .failure(Errno(EBUSY)) }
            live.remove(id)
            return .success(0)
        default: return .failure(Errno(ENOTTY))
        }
    }

    func list(_ directory: String) -> Result<[String], Errno> {
        directories[directory].map { .success($0) } ?? .failure(Errno(ENOENT))
    }

    func readLink(_ path: String) -> Result<String, Errno> {
        links[path].map { .success($0) } ?? .failure(Errno(ENOENT))
    }

    /// A PCI device `bdf` in IOMMU group `group` behind unit `unit`, bound to vfio-pci with cdev `cdev`
    /// (nil: a kernel without the cdev), as sysfs links and directories.
    func addDevice(_ bdf: String, group: String, unit: String = "dmar0", cdev: String?, sysfs: String = "/sys") {
        let pci = "\(sysfs)/bus/pci/devices/\(bdf)"
        links["\(pci)/iommu_group"] = "../../../kernel/iommu_groups/\(group)"
        links["\(pci)/iommu"] = "../../virtual/iommu/\(unit)"
        directories["\(sysfs)/kernel/iommu_groups/\(group)/devices", default: []].append(bdf)
        directories["\(sysfs)/class/iommu/\(unit)/devices", default: []].append(bdf)
        if let cdev {
            directories["\(pci)/vfio-dev"] = [cdev]
            links["\(sysfs)/class/vfio-dev/\(cdev)/device"] = "../../../\(bdf)"
        }
    }

    /// The legacy-aw39 machine: Debian 6.1, group 3 with the edu device, type 6 refused with EINVAL.
    static func legacy6_1() throws -> FakeKernel {
        let k = FakeKernel()
        k.files = ["/dev/vfio/vfio": 3, "/dev/vfio/3": 4]
        k.directories = ["/dev/vfio": ["3", "vfio"]]
        k.extensions = [1: 1, 3: 1, 6: 1, 9: 1]
        k.setIOMMUErrors = [6: Errno(EINVAL)]
        k.infoBuffer = Fixtures.hex(try Fixtures.text(Fixtures.capture("legacy-aw39").appendingPathComponent("vfio-info.hex")))
        return k
    }

    /// The iommufd-q10-scalable-flts machine (6.12.95 with IOMMUFD and the vfio cdev, QEMU 10 VT-d), as its
    /// console.txt tells it: edu 0000:00:03.0 in group 1 (vfio0) and e1000e 0000:00:04.0 in group 2 (vfio1),
    /// CHECK_EXTENSION answers, SET_IOMMU(6) errno, hw_info, HWPT_ALLOC errno per flag, zero-size command answers.
    static func iommufd6_12(sysfs: String = "/sys") throws -> FakeKernel {
        let capture = "iommufd-q10-scalable-flts"
        let console = try Fixtures.text(Fixtures.capture(capture).appendingPathComponent("console.txt"))
        // Only the first device's probe (edu); the second printed the same answers.
        guard let start = console.range(of: "=== vfioprobe 0000:00:03.0\n"), let end = console.range(of: "=== vfioprobe 0000:00:03.0 rc") else {
            throw CocoaError(.fileReadCorruptFile)
        }
        let lines = console[start.upperBound..<end.lowerBound].split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let k = FakeKernel()
        k.files = ["/dev/vfio/vfio": 3, "/dev/vfio/1": 4, "/dev/vfio/2": 7, "/dev/iommu": 5, "/dev/vfio/devices/vfio0": 6,
                   "/dev/vfio/devices/vfio1": 8]
        k.directories = ["/dev/vfio": ["1", "2", "devices", "vfio"], "/dev/vfio/devices": ["vfio0", "vfio1"]]
        k.addDevice("0000:00:03.0", group: "1", cdev: "vfio0", sysfs: sysfs)
        k.addDevice("0000:00:04.0", group: "2", cdev: "vfio1", sysfs: sysfs)
        k.iommufdKnown = []
        for w in lines {
            switch w.first {
            case "container.check_extension":                  // container.check_extension 6 NAME = 1
                k.extensions[Int32(w[1])!] = Int32(w.last!)!
            case "set_iommu" where w[3] == "rc" && w[4] != "0": // set_iommu type 6 rc -1 errno 22 (…)
                k.setIOMMUErrors[Int32(w[2])!] = Errno(Int32(w[6])!)
            case "iommufd.hwpt_alloc" where w[5] != "0":        // iommufd.hwpt_alloc nest_parent flags 0x1 rc -1 errno 95 (…)
                k.hwptErrors[UInt32(w[3].dropFirst(2), radix: 16)!] = Errno(Int32(w[7])!)
            case "iommufd.cmd":                                 // iommufd.cmd 0x8f rc -1 errno 25
                if w[5] != String(ENOTTY) { k.iommufdKnown.insert(UInt(w[1].dropFirst(2), radix: 16)!) }
            case "iommufd.hw_info_hex": k.hwInfoStruct = Fixtures.hex(w[1])
            case "iommufd.hw_info_data_hex": k.hwInfoData = Fixtures.hex(w[1])
            default: break
            }
        }
        k.infoBuffer = Fixtures.hex(try Fixtures.text(Fixtures.capture(capture).appendingPathComponent("vfio-info.hex")))
        return k
    }
}
