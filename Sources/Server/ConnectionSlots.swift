import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who holds the server's connection slots, and the rules for taking one.
///
/// A connection is anonymous until one of its requests is admitted with an identity
/// (`HTTPHandler.admit`); a new connection always is, so a flood of connections that send nothing,
/// dribble their heads or are refused cannot be told from good clients at accept time. The rules:
/// - When every slot is taken, a new connection cuts the oldest anonymous connection that is not being
///   served (`shutdown(2)`; its worker sees EOF and closes it). A flood of anonymous connections thus
///   makes room for newcomers instead of keeping them out; a good client's connection is cut only if
///   every older anonymous connection has been cut before its head arrived.
/// - Identified connections never take the last `reservedAnonymous` slots, so new connections (and
///   health probes, which carry no token) always find room beside authenticated clients.
/// - One identity holds at most `perIdentity` connections.
/// Without a reserve (nil: the handler names no identities), nothing is cut and a full server answers 503.
///
/// It owns every accepted descriptor from `take` until `close`, and cuts only under its lock, so a cut
/// can never hit a descriptor number that was already closed and reused.
final class ConnectionSlots: @unchecked Sendable {
    enum Identification: Equatable {
        case accepted
        /// The identity already holds `perIdentity` connections.
        case identityFull
        /// Every slot identified connections may hold is taken (the rest is reserved for anonymous ones).
        case noSlot
    }

    private struct Occupant {
        /// Accept order: the lowest is the oldest.
        let order: Int
        var identity: String?
        /// From a complete head until its answer is written: never cut then.
        var busy = false
        /// Shut down to make room; its worker has not closed it yet. It counts toward no share.
        var cut = false
    }

    let capacity: Int
    let reservedAnonymous: Int?
    let perIdentity: Int?
    private let counters: ServerCounters
    private let lock = NSLock()
    private var occupants: [Int32: Occupant] = [:]
    private var live = 0
    private var identified = 0
    private var byIdentity: [String: Int] = [:]
    private var nextOrder = 0

    init(capacity: Int, reservedAnonymous: Int?, perIdentity: Int?, counters: ServerCounters) {
        let capacity = max(1, capacity)
        self.capacity = capacity
        // At least one slot stays for identified connections.
        self.reservedAnonymous = reservedAnonymous.map { max(0, min($0, capacity - 1)) }
        self.perIdentity = perIdentity.map { max(1, $0) }
        self.counters = counters
    }

    /// Descriptors held at most, connections being cut included: the worker threads needed. A cut
    /// connection's worker notices within microseconds, but a burst of newcomers is accepted faster
    /// still, so those on their way out get as many threads again as there are slots.
    var descriptorLimit: Int { reservedAnonymous == nil ? capacity : 2 * capacity }

    var anonymousCount: Int { lock.withLock { live - identified } }

    /// Takes a slot for a new (anonymous) connection, cutting the oldest idle anonymous one if every
    /// slot is taken and a reserve is configured. False: the caller answers 503 and closes `fd`.
    func take(_ fd: Int32) -> Bool {
        lock.withLock {
            // Cut connections still hold a thread for a moment; past this bound, refuse rather than cut more.
            guard occupants.count < descriptorLimit else { return false }
            if live >= capacity {
                guard reservedAnonymous != nil, let victim = oldestIdleAnonymous() else { return false }
                _ = shutdown(victim, Int32(SHUT_RDWR))
                occupants[victim]?.cut = true
                live -= 1
                counters.update { $0.anonymousConnectionsCut += 1 }
            }
            occupants[fd] = Occupant(order: nextOrder)
            nextOrder += 1
            live += 1
            return true
        }
    }

    private func oldestIdleAnonymous() -> Int32? {
        var oldest: (fd: Int32, order: Int)?
        for (fd, o) in occupants where o.identity == nil && !o.busy && !o.cut {
            if oldest == nil || o.order < oldest!.order { oldest = (fd, o.order) }
        }
        return oldest?.fd
    }

    /// Charges `fd`'s connection to `identity` (its first admitted request, or a later one naming
    /// another identity); an identified connection stays identified.
    func identify(_ fd: Int32, as identity: String) -> Identification {
        lock.withLock {
            guard var o = occupants[fd], !o.cut, o.identity != identity else { return .accepted }
            if let perIdentity, byIdentity[identity, default: 0] >= perIdentity { return .identityFull }
            if o.identity == nil, let reservedAnonymous, identified >= capacity - reservedAnonymous { return .noSlot }
            if let previous = o.identity { uncount(previous) } else { identified += 1 }
            byIdentity[identity, default: 0] += 1
            o.identity = identity
            occupants[fd] = o
            return .accepted
        }
    }

    func setBusy(_ fd: Int32, _ busy: Bool) {
        lock.withLock { occupants[fd]?.busy = busy }
    }

    /// Gives the slot back without closing the descriptor: it became a stream, which the hub owns.
    func detach(_ fd: Int32) {
        lock.withLock { vacate(fd) }
    }

    /// Gives the slot back and closes the descriptor (a descriptor never taken is just closed).
    func close(_ fd: Int32) {
        lock.withLock {
            vacate(fd)
            _ = Glibc.close(fd)
        }
    }

    /// Under the lock: `fd`'s slot and identity share given back.
    private func vacate(_ fd: Int32) {
        if let o = occupants.removeValue(forKey: fd), !o.cut {
            live -= 1
            if let identity = o.identity {
                identified -= 1
                uncount(identity)
            }
        }
    }

    private func uncount(_ identity: String) {
        byIdentity[identity, default: 1] -= 1
        if byIdentity[identity] == 0 { byIdentity[identity] = nil }
    }

    /// Shuts every connection down (both directions) so workers blocked on it return at once; the
    /// descriptors stay open until their workers close them. Returns how many there were.
    func cutAll() -> Int {
        lock.withLock {
            for fd in occupants.keys { _ = shutdown(fd, Int32(SHUT_RDWR)) }
            return occupants.count
        }
    }
}
