#if canImport(Glibc)
import Glibc
#endif

/// The kernel calls the VFIO and iommufd sources make, behind a protocol so the collection sequences
/// can be tested against a replay of what a real kernel answered.
public protocol DeviceIO: Sendable {
    /// `open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK)`: a probe never waits for a device.
    func open(_ path: String) -> Result<Int32, Errno>
    func close(_ fd: Int32)
    /// An ioctl whose argument is passed by value (or absent: 0).
    func ioctl(_ fd: Int32, _ request: UInt, value: Int32) -> Result<Int32, Errno>
    /// An ioctl whose argument is a pointer to `buffer`. With `pointer`, the u64 at `pointer.at` is set
    /// to the address of `buffer[pointer.to]` first (structs that point into a second area).
    func ioctl(_ fd: Int32, _ request: UInt, buffer: inout [UInt8], pointer: (at: Int, to: Int)?) -> Result<Int32, Errno>
    /// Names in a directory (no `.`/`..`).
    func list(_ directory: String) -> Result<[String], Errno>
    /// The target of a symbolic link (sysfs: a device's `iommu_group`, `iommu`, a cdev's `device`).
    func readLink(_ path: String) -> Result<String, Errno>
}

/// The real kernel, through Glibc.
public struct LinuxDeviceIO: DeviceIO {
    public init() {}

    public func open(_ path: String) -> Result<Int32, Errno> {
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK)
        return fd >= 0 ? .success(fd) : .failure(.current)
    }

    public func close(_ fd: Int32) { _ = Glibc.close(fd) }

    public func ioctl(_ fd: Int32, _ request: UInt, value: Int32) -> Result<Int32, Errno> {
        let r = Glibc.ioctl(fd, request, value)
        return r >= 0 ? .success(r) : .failure(.current)
    }

    public func ioctl(_ fd: Int32, _ request: UInt, buffer: inout [UInt8], pointer: (at: Int, to: Int)?) -> Result<Int32, Errno> {
        let r: Int32 = buffer.withUnsafeMutableBytes { raw in
            if let pointer {
                let address = UInt64(UInt(bitPattern: raw.baseAddress! + pointer.to))
                raw.storeBytes(of: address.littleEndian, toByteOffset: pointer.at, as: UInt64.self)
            }
            return Glibc.ioctl(fd, request, raw.baseAddress!)
        }
        return r >= 0 ? .success(r) : .failure(.current)
    }

    public func list(_ directory: String) -> Result<[String], Errno> {
        FileReader.list(directory)
    }

    public func readLink(_ path: String) -> Result<String, Errno> { FileReader.readLink(path) }
}

/// Plain file reads for sysfs and /etc, with errno names on failure.
public enum FileReader {
    /// The whole file as text (sysfs files are small; reads until EOF).
    public static func text(_ path: String) -> Result<String, Errno> {
        bytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The file's bytes, at most `limit` of them (a PCI config space is 4096; the rest is not read).
    public static func bytes(_ path: String, limit: Int = Int.max) -> Result<[UInt8], Errno> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.current) }
        defer { _ = Glibc.close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.current)
            }
            if n == 0 { return .success(out) }
            out += chunk[0..<min(n, limit - out.count)]
            if out.count >= limit { return .success(out) }
        }
    }

    /// A symlink's target as written.
    public static func readLink(_ path: String) -> Result<String, Errno> {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { Glibc.readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        guard n >= 0 else { return .failure(.current) }
        return .success(String(decoding: buffer[0..<n], as: UTF8.self))
    }

    /// The last path component of a symlink's target (`../../../kernel/iommu_groups/12` → `12`), or nil.
    public static func linkName(_ path: String) -> String? {
        guard case .success(let target) = readLink(path), let name = target.split(separator: "/").last else { return nil }
        return String(name)
    }

    public static func list(_ directory: String) -> Result<[String], Errno> {
        guard let dir = opendir(directory) else { return .failure(.current) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names.sorted(by: naturalOrder))
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}

/// `dmar2` before `dmar10`: runs of digits compare as numbers.
public func naturalOrder(_ a: String, _ b: String) -> Bool {
    func parts(_ s: String) -> [(String, Int?)] {
        var out: [(String, Int?)] = []
        var current = "", digits = false
        for c in s {
            if c.isASCII && c.isNumber != digits && !current.isEmpty {
                out.append((current, digits ? Int(current) : nil)); current = ""
            }
            digits = c.isASCII && c.isNumber
            current.append(c)
        }
        if !current.isEmpty { out.append((current, digits ? Int(current) : nil)) }
        return out
    }
    for (x, y) in zip(parts(a), parts(b)) where x.0 != y.0 {
        if let m = x.1, let n = y.1, m != n { return m < n }
        return x.0 < y.0
    }
    return a.count < b.count
}
