import Foundation
import Store

/// Registry credentials as read in the last half second, by the SHA-256 of the presented token: every
/// request checks its token twice (on the head, then before it is answered), and a busy collector sends
/// many, so without this each cost a database read (160 µs p50 each, docs/figures.md). Half a second keeps
/// the promise that a revocation counts within one second; an expiry is checked on every use.
/// Misses are kept too (a token unknown half a second ago is still refused), so a flood of made-up tokens
/// costs one read each per half second at most. Bounded: past `capacity` entries the cache starts over.
final class CredentialCache: @unchecked Sendable {
    static let maxAge: TimeInterval = 0.5
    static let capacity = 4096

    private let lock = NSLock()
    private var entries: [String: (credential: Credential?, readAt: Date)] = [:]

    /// The active credential `token` is the secret of, from the cache or from `read`.
    func credential(presenting token: String, now: Date = Date(), read: (String) throws -> Credential?) rethrows -> Credential? {
        let key = CredentialToken.digest(token)
        if let hit = lock.withLock({ entries[key] }), now.timeIntervalSince(hit.readAt) < Self.maxAge, now >= hit.readAt {
            return hit.credential.flatMap { $0.state(at: now) == "active" ? $0 : nil }
        }
        let found = try read(token)
        lock.withLock {
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (found, now)
        }
        return found
    }
}
