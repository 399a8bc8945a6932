import Foundation

/// A one-time code an admin gives a new host (`capreg token enroll`), as stored: never the code itself.
/// Redeemed once (POST /v1/enroll), it becomes a collector credential bound to the same host.
public struct EnrollmentCode: Sendable, Hashable {
    /// An hour: long enough to paste the code into the host's provisioning, short enough that a code left
    /// in a ticket or a shell history is dead by the time anyone reads it.
    public static let defaultLifetime: Int64 = 3_600
    /// A week: the longest a code may wait (a host racked over a long weekend); also a CHECK in migration 0011.
    public static let maxLifetime: Int64 = 7 * 86_400

    public var id: String
    /// The host the code is for; the credential it becomes carries the same binding (never a pattern).
    public var binding: HostBinding
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?
    /// The credential its redemption issued.
    public var credential: String?
    public var revokedAt: Date?
    /// Who issued it, when known (`user:NAME`).
    public var issuedBy: String?
    /// Redemptions refused (already used, expired, revoked, another host), and the last one's reason.
    public var refusals: Int
    public var lastRefusedAt: Date?
    public var lastRefusal: String?

    /// `unused`, `used`, `revoked` or `expired` at `now`.
    public func state(at now: Date) -> String {
        if usedAt != nil { return "used" }
        if revokedAt != nil { return "revoked" }
        if expiresAt <= now { return "expired" }
        return "unused"
    }
}

/// A code just made, with its text: shown once, then only its digest remains.
public struct IssuedEnrollmentCode: Sendable {
    public var code: EnrollmentCode
    public var text: String
}

/// The code's text: `capreg_enroll_` + the code's id (16 hex digits) + `_` + 64 hex digits (256 random
/// bits, made by `CredentialToken.make`). Only underscores between the parts, so a double click selects
/// the whole code in a terminal; the prefix tells it from a credential at a glance, and secret scanners
/// that look for `capreg_` find it too.
public enum EnrollmentCodeText {
    static let prefix = "capreg_enroll_"

    static func make() -> (id: String, text: String) {
        let (id, text) = CredentialToken.make(prefix: prefix)
        return (id, text)
    }

    /// The id inside a code of this shape, or nil.
    public static func id(in text: String) -> String? { CredentialToken.id(in: text, prefix: prefix) }
}

/// Why a redemption was refused. The caller is told only `invalid` or `hostMismatch`: which of
/// unknown, used, expired or revoked would tell a thief whether a code once worked. Operators see the
/// reason (`capreg token codes`, `capreg_enrollments_total{outcome}`).
public enum EnrollmentRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// No code has this text (malformed, unknown id, or a wrong secret for a known id).
    case unknown
    case used(id: String)
    case expired(id: String)
    case revoked(id: String)
    /// The code is valid but bound to another host than the one claimed; it stays unused.
    case hostMismatch(id: String, mismatch: String)

    /// For metrics: `unknown_code`, `used_code`, `expired_code`, `revoked_code`, `host_mismatch`.
    public var outcome: String {
        switch self {
        case .unknown: return "unknown_code"
        case .used: return "used_code"
        case .expired: return "expired_code"
        case .revoked: return "revoked_code"
        case .hostMismatch: return "host_mismatch"
        }
    }

    public var description: String {
        switch self {
        case .unknown: return "no such enrollment code"
        case .used(let id): return "enrollment code \(id) was already used"
        case .expired(let id): return "enrollment code \(id) has expired"
        case .revoked(let id): return "enrollment code \(id) was revoked"
        case .hostMismatch(let id, let mismatch): return "enrollment code \(id): \(mismatch)"
        }
    }
}
