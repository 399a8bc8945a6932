import Foundation

/// The bytes of request bodies the server holds at once, over every connection
/// (`ServerConfig.maxBufferedBodyBytes`). A request takes its `Content-Length` before its body is read
/// and gives it back once answered, so many clients sending large bodies at once cost bounded memory;
/// one that does not fit is answered 503 without its body being read.
final class BodyBudget: @unchecked Sendable {
    let capacity: Int
    private let lock = NSLock()
    private var used = 0

    init(capacity: Int) { self.capacity = capacity }

    var inUse: Int { lock.withLock { used } }

    /// False when `bytes` do not fit beside what is already taken. An empty body always fits.
    func reserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        return lock.withLock {
            guard used + bytes <= capacity else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        lock.withLock { used -= bytes }
    }
}
