#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Report

/// Reports waiting for delivery, one file each, oldest first. A report is written durably (temporary
/// file, fsync, rename, fsync of the directory) before any send, and removed only after the registry
/// answered 2xx. The spool is bounded: a report that would push it past `maxBytes` is refused loudly
/// (SpoolError.full) rather than dropping something already waiting.
public struct Spool: Sendable {
    public let directory: String
    public let maxBytes: Int

    public struct Entry: Hashable, Sendable {
        public var name: String
        public var path: String
        public var size: Int
    }

    public enum SpoolError: Error, CustomStringConvertible, Equatable {
        case full(reportId: String, size: Int, used: Int, max: Int)
        case io(String, Errno)

        public var description: String {
            switch self {
            case .full(let id, let size, let used, let max):
                return "spool full: report \(id) (\(size) bytes) NOT spooled and will not be delivered: \(used) of \(max) bytes already waiting"
            case .io(let what, let e): return "spool: \(what): \(e.name)"
            }
        }
    }

    public init(directory: String, maxBytes: Int = 16 << 20) throws(SpoolError) {
        self.directory = directory
        self.maxBytes = maxBytes
        for dir in [directory, rejectedDirectory] where mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw .io("mkdir \(dir)", .current)
        }
    }

    public var rejectedDirectory: String { directory + "/rejected" }

    /// Waiting reports, oldest first (names start with the collection time).
    public func pending() -> [Entry] {
        guard case .success(let names) = FileReader.list(directory) else { return [] }
        return names.filter { $0.hasPrefix("r-") && $0.hasSuffix(".json") }.sorted().compactMap { name in
            let path = directory + "/" + name
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            return Entry(name: name, path: path, size: Int(st.st_size))
        }
    }

    public var usedBytes: Int { pending().reduce(0) { $0 + $1.size } }

    /// Writes `report` durably; throws `.full` (nothing written) when it does not fit.
    @discardableResult
    public func add(_ report: Report) throws(SpoolError) -> Entry {
        let data: Data
        do { data = try Report.encoder.encode(report) } catch { throw .io("encode \(report.reportId)", Errno(EINVAL)) }
        let used = usedBytes
        guard used + data.count <= maxBytes else {
            throw .full(reportId: report.reportId, size: data.count, used: used, max: maxBytes)
        }
        let millis = Int64(report.collectedAt.timeIntervalSince1970 * 1000)
        let name = "r-" + String(format: "%015lld", millis) + "-" + report.reportId + ".json"
        try writeDurably(name: name, bytes: [UInt8](data))
        return Entry(name: name, path: directory + "/" + name, size: data.count)
    }

    public func read(_ entry: Entry) -> Result<[UInt8], Errno> { FileReader.bytes(entry.path) }

    /// Delivered: gone for good (the directory is synced so a crash cannot bring it back... or if it
    /// does, the registry answers the repeated report id as a duplicate).
    public func remove(_ entry: Entry) throws(SpoolError) {
        guard unlink(entry.path) == 0 || errno == ENOENT else { throw .io("unlink \(entry.name)", .current) }
        try Spool.syncDirectory(directory)
    }

    /// Refused by the registry (4xx): kept aside for a person, never deleted, with the registry's reason
    /// beside it (`r-….why`, see Refusal). The reason is written first: a crash between the two leaves a
    /// stray reason (ignored, overwritten when the report is refused again), never a report without one.
    public func reject(_ entry: Entry, refusal: Refusal? = nil) throws(SpoolError) {
        if let refusal {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let data = try? encoder.encode(refusal) else { throw .io("encode the refusal of \(entry.name)", Errno(EINVAL)) }
            try writeDurably(name: refusalName(entry.name), bytes: [UInt8](data) + [0x0a], in: rejectedDirectory)
        }
        guard rename(entry.path, rejectedDirectory + "/" + entry.name) == 0 else { throw .io("move \(entry.name) to rejected/", .current) }
        try Spool.syncDirectory(rejectedDirectory)
        try Spool.syncDirectory(directory)
    }

    func writeDurably(name: String, bytes: [UInt8], in directory: String? = nil) throws(SpoolError) {
        try Spool.replaceDurably(directory: directory ?? self.directory, name: name, bytes: bytes, mode: 0o600)
    }

    /// `bytes` as `directory/name`, whole or not at all: written to the dot file `.tmp-NAME` (which readers
    /// that skip dot files, as NFD does, never read), synced, renamed over the old file, and the directory
    /// synced. The spool's entries and the NFD feature file are written so.
    static func replaceDurably(directory: String, name: String, bytes: [UInt8], mode: mode_t) throws(SpoolError) {
        let temporary = directory + "/.tmp-" + name
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io("create \(temporary)", .current) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = Errno.current
                close(fd); unlink(temporary)
                throw .io("write \(temporary)", e)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let e = Errno.current
            close(fd); unlink(temporary)
            throw .io("fsync \(temporary)", e)
        }
        close(fd)
        guard rename(temporary, directory + "/" + name) == 0 else {
            let e = Errno.current
            unlink(temporary)
            throw .io("rename \(temporary)", e)
        }
        try syncDirectory(directory)
    }

    static func syncDirectory(_ path: String) throws(SpoolError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("open \(path)", .current) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io("fsync \(path)", .current) }
    }
}
