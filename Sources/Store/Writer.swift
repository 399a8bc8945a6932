import Foundation
import Report

/// Who wrote a report, as the registry records it (migrations/0010): the identity the API or CLI
/// vouches for and the peer address the server saw. The store keeps these two strings and nothing of
/// HTTP; the API makes them from the request's caller, the CLI from the OS user.
public struct Writer: Sendable, Hashable {
    /// `cred:<16 hex>`, `token:<12 hex>`, `ip:ADDRESS` or `cli:COMMAND:USER`; nil: unknown.
    public let identity: String?
    /// The address the server saw; nil for the CLI (no network peer).
    public let peer: String?

    /// Longest identity kept, in characters: the longest we make is `ip:` and an IPv6 address with a zone.
    public static let maxIdentity = 80
    /// Longest peer address kept, in characters: an IPv6 address with a zone fits.
    public static let maxPeer = 64

    /// Refuses text the registry would not show as given: too long, empty, or holding control or format
    /// characters. The errors name the field as stored (written_by, peer).
    public init(identity: String?, peer: String?) throws(WriterError) {
        if let identity, let problem = Self.problem(identity, max: Self.maxIdentity) { throw WriterError(field: "written_by", problem: problem) }
        if let peer, let problem = Self.problem(peer, max: Self.maxPeer) { throw WriterError(field: "peer", problem: problem) }
        self.identity = identity
        self.peer = peer
    }

    /// The CLI writing as `user` (`cli:ingest:root`): the user part is cut to fit the identity's bound,
    /// and replaced by the numeric uid when it holds characters an identity may not.
    public static func cli(_ command: String, user: String, uid: UInt32) throws(WriterError) -> Writer {
        let prefix = "cli:\(command):"
        let room = max(0, maxIdentity - prefix.count)
        let name = Report.invisibleProblem(user) == nil && !user.isEmpty ? String(user.prefix(room)) : "uid\(uid)"
        return try Writer(identity: prefix + name, peer: nil)
    }

    static func problem(_ text: String, max: Int) -> String? {
        if text.isEmpty { return "empty" }
        let count = text.unicodeScalars.count
        if count > max { return "\(count) characters; at most \(max)" }
        return Report.invisibleProblem(text)
    }
}

public struct WriterError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public var description: String { "\(field): \(problem)" }
}
