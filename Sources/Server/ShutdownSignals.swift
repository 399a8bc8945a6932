import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Turns termination signals into something a thread can wait for: the handler only writes the signal
/// number to a pipe (async-signal-safe), and `wait()` reads it on an ordinary thread.
public enum ShutdownSignals {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pipeRead: Int32 = -1
    /// Read by the signal handler, so a plain global: written once, before any handler is installed.
    nonisolated(unsafe) fileprivate static var pipeWrite: Int32 = -1

    /// Routes `signals` to the pipe. Call early (before the work the signal should stop), so a signal
    /// arriving in between is not lost. Idempotent.
    public static func install(_ signals: [Int32] = [SIGTERM, SIGINT]) {
        lock.withLock {
            if pipeRead < 0 {
                var fds: [Int32] = [0, 0]
                guard pipe(&fds) == 0 else { return }
                for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)  // a signal storm must not block the handler
                pipeRead = fds[0]
                pipeWrite = fds[1]
            }
            for sig in signals { signal(sig, shutdownSignalHandler) }
            unblock(signals)
        }
    }

    /// A handler is useless while the signal is blocked, and a process inherits its parent thread's mask
    /// (a Swift or Go parent spawns from worker threads that block everything). Unblocked on the calling
    /// thread, which threads started later inherit.
    public static func unblock(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in signals { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Blocks the calling thread until an installed signal arrives; returns its number. Installs the
    /// default set first if nothing was installed.
    public static func wait() -> Int32 {
        if lock.withLock({ pipeRead < 0 }) { install() }
        let fd = lock.withLock { pipeRead }
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n == 1 { return Int32(byte) }
            if n < 0 && errno == EINTR { continue }
            return 0
        }
    }
}

private func shutdownSignalHandler(_ sig: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: sig)
    _ = write(ShutdownSignals.pipeWrite, &byte, 1)
    errno = saved
}
