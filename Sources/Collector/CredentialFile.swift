#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The collector's own credential, `DIR/credential` in its spool directory, written by
/// `capreg collect --enroll` and read by later runs when no token is given. Mode 0600, written whole or not
/// at all: a temporary file made with O_EXCL (never an existing file, never through a planted link),
/// fsync, rename over the old one, fsync of the directory.
public struct CredentialFile: Sendable {
    public let directory: String
    public var path: String { directory + "/credential" }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(directory: String) {
        self.directory = directory
    }

    /// The secret, trimmed; nil when there is no file. A file others may read is used, with a warning in
    /// `warning` (the secret may already have leaked: rotate it).
    public func read() -> Result<(secret: String, warning: String?)?, Failure> {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return errno == ENOENT ? .success(nil) : .failure(Failure(description: "\(path): \(Errno.current.name)"))
        }
        guard case .success(let text) = FileReader.text(path) else { return .failure(Failure(description: "cannot read \(path)")) }
        let secret = text.trimmingWhitespace()
        guard !secret.isEmpty else { return .failure(Failure(description: "\(path) is empty; enroll again (capreg collect --enroll CODE)")) }
        let warning = st.st_mode & 0o077 != 0
            ? "\(path) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))): chmod 600 it and rotate the credential" : nil
        return .success((secret, warning))
    }

    /// A file being written: made before the code is sent, so a directory that cannot take the credential
    /// is found while the code is still unused.
    public struct Pending: Sendable {
        let fd: Int32
        let temporary: String
        let file: CredentialFile
    }

    /// Makes the directory (0700) when missing, refuses one that others may write (they could swap the
    /// credential), and opens a new temporary file with O_CREAT | O_EXCL, mode 0600.
    public func prepare() -> Result<Pending, Failure> {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return .failure(Failure(description: "mkdir \(directory): \(Errno.current.name)")) }
        var st = stat()
        guard stat(directory, &st) == 0 else { return .failure(Failure(description: "\(directory): \(Errno.current.name)")) }
        if st.st_mode & 0o022 != 0 {
            return .failure(Failure(description: "\(directory) may be written by others (mode \(String(st.st_mode & 0o777, radix: 8))); "
                                             + "the credential is not kept there: chmod go-w it or give another --spool"))
        }
        let temporary = directory + "/.credential.tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return .failure(Failure(description: "create \(temporary): \(Errno.current.name)")) }
        // Whatever the umask: the file's mode is 0600 before a byte of the secret is in it.
        guard fchmod(fd, 0o600) == 0 else {
            let e = Errno.current
            close(fd); unlink(temporary)
            return .failure(Failure(description: "chmod \(temporary): \(e.name)"))
        }
        return .success(Pending(fd: fd, temporary: temporary, file: self))
    }
}

extension CredentialFile.Pending {
    /// Writes `secret` and a newline, syncs, and renames the file into place; the directory is synced too.
    public func commit(_ secret: String) -> Result<Void, CredentialFile.Failure> {
        let bytes = Array((secret + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                return fail("write \(temporary)")
            }
            written += n
        }
        guard fsync(fd) == 0 else { return fail("fsync \(temporary)") }
        close(fd)
        guard rename(temporary, file.path) == 0 else {
            let e = Errno.current
            unlink(temporary)
            return .failure(CredentialFile.Failure(description: "rename \(temporary) to \(file.path): \(e.name)"))
        }
        let dir = open(file.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
        return .success(())
    }

    /// Nothing to keep (the registry refused): the temporary file goes.
    public func discard() {
        close(fd)
        unlink(temporary)
    }

    private func fail(_ what: String) -> Result<Void, CredentialFile.Failure> {
        let e = Errno.current
        close(fd)
        unlink(temporary)
        return .failure(CredentialFile.Failure(description: "\(what): \(e.name)"))
    }
}
