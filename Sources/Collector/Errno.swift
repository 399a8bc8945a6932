#if canImport(Glibc)
import Glibc
#endif

/// An errno value with its symbolic name, the form reports carry (`ENOENT`, `EACCES`, …).
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int32

    public init(_ code: Int32) { self.code = code }

    /// The current thread's errno.
    public static var current: Errno { Errno(errno) }

    public var name: String { Self.names[code] ?? "E\(code)" }
    public var description: String { name }

    static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO",
        E2BIG: "E2BIG", EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT",
        EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL",
        ENFILE: "ENFILE", EMFILE: "EMFILE", ENOTTY: "ENOTTY", ENOSPC: "ENOSPC", EROFS: "EROFS", ERANGE: "ERANGE",
        ENOSYS: "ENOSYS", EOPNOTSUPP: "EOPNOTSUPP", EBADMSG: "EBADMSG", ETIMEDOUT: "ETIMEDOUT",
        ECONNREFUSED: "ECONNREFUSED", ECONNRESET: "ECONNRESET", EHOSTUNREACH: "EHOSTUNREACH", ENETUNREACH: "ENETUNREACH",
        EPIPE: "EPIPE", EPROTO: "EPROTO", EADDRNOTAVAIL: "EADDRNOTAVAIL",
    ]
}

// errno values used as reasons where the kernel gave none of its own (Glibc's macros, as constants).
let EPROTO_VALUE: Int32 = EPROTO
let EINVAL_VALUE: Int32 = EINVAL
let E2BIG_VALUE: Int32 = E2BIG
let EAGAIN_VALUE: Int32 = EAGAIN
let ENOENT_VALUE: Int32 = ENOENT
