import Collector
import Foundation
import Synchronization

/// Replays what a real kernel answered (the captures' console.txt): paths that exist, CHECK_EXTENSION
/// answers, which SET_IOMMU types fail and how, the GET_INFO buffer with its argsz re-query, and an
/// iommufd hw_info answer. Records every call so tests can check the sequence.
final class FakeKernel: DeviceIO, @unchecked Sendable {
    var files: [String: Int32] = [:]           // path → fd
    var openErrors: [String: Errno] = [:]
    var directories: [String: [String]] = [:]
    var extensions: [Int32: Int32] = [:]
    var setIOMMUErrors: [Int32: Errno] = [:]
    var infoBuffer: [UInt8] = []
    var hwInfoStruct: [UInt8] = []
    var hwInfoData: [UInt8] = []
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

    func ioctl(_ fd: Int32, _ request: UInt, buffer: inout [UInt8], pointer: (at: Int, to: Int)?) -> Result<Int32, Errno> {
        record("ioctl \(fd) 0x\(String(request, radix: 16)) [\(buffer.count)]")
        func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
        switch request {
        case IoctlNumbers.vfioGroupGetStatus:
            buffer[4] = 1
            return .success(0)
        case IoctlNumbers.vfioGroupSetContainer: return .success(0)
        case IoctlNumbers.vfioIOMMUGetInfo:
            // Like type1 before 6.6: too small → only argsz/flags/pgsizes, argsz := needed, cap_offset 0.
            let argsz = Int(u32(buffer, 0))
            if argsz < infoBuffer.count {
                for i in 0..<16 { buffer[i] = infoBuffer[i] }
                return .success(0)
            }
            for i in 0..<infoBuffer.count { buffer[i] = infoBuffer[i] }
            return .success(0)
        case IoctlNumbers.vfioDeviceBindIOMMUFD:
            buffer[12] = 1
            return .success(0)
        case IoctlNumbers.iommuGetHWInfo:
            guard let pointer else { return .failure(Errno(EFAULT)) }
            let offered = Int(u32(buffer, 12))
            for i in 0..<hwInfoStruct.count where i < 16 || i >= 24 { buffer[i] = hwInfoStruct[i] }
            buffer[16] = 0xAA  // the kernel leaves data_uptr as given; make sure the collector clears it
            for (i, b) in hwInfoData.prefix(offered).enumerated() { buffer[pointer.to + i] = b }
            return .success(0)
        default: return .failure(Errno(ENOTTY))
        }
    }

    func list(_ directory: String) -> Result<[String], Errno> {
        directories[directory].map { .success($0) } ?? .failure(Errno(ENOENT))
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
}
