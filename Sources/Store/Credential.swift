import Foundation
import Report

/// Who may do what. admin includes both others.
public enum Role: String, Sendable, CaseIterable {
    /// Pushes reports (POST /v1/reports) and nothing else: a collector's token leaks no fleet data.
    case collector
    /// Reads: every GET, /metrics included.
    case reader
    case admin

    public func permits(_ needed: Role) -> Bool { self == .admin || self == needed }
}

/// The host a collector credential may write: reports whose host differs are refused (403 host_mismatch).
public struct HostBinding: Sendable, Hashable {
    /// The hostname reports must carry; with `isPattern`, a pattern where `*` stands for any run of characters.
    public var hostname: String?
    /// The machine-id reports must carry (a report without one does not match).
    public var machineId: String?
    /// Set only by an admin's explicit choice (`capreg token issue --host-pattern`): one credential for many hosts.
    public var isPattern: Bool

    public init(hostname: String?, machineId: String?, isPattern: Bool = false) {
        self.hostname = hostname
        self.machineId = machineId
        self.isPattern = isPattern
    }

    /// Why this binding cannot be stored, naming the CLI option, or nil.
    public var problem: String? {
        if hostname == nil && machineId == nil { return "a collector credential needs --host or --machine-id (the host it may write)" }
        if isPattern {
            guard let hostname else { return "--host-pattern needs a pattern" }
            if let p = Report.identifierProblem(hostname) { return "--host-pattern: \(p)" }
            if hostname.allSatisfy({ $0 == "*" }) { return "--host-pattern \"\(hostname)\" matches every host; use an unbound bootstrap token instead" }
        } else if let hostname, let p = Report.hostnameProblem(hostname) {
            return "--host: \(p)"
        }
        if let machineId, let p = Report.identifierProblem(machineId) { return "--machine-id: \(p)" }
        return nil
    }

    /// How a report's host differs from the binding, in words naming both, or nil when it may be written.
    public func mismatch(hostname reported: String, machineId reportedMachine: String?) -> String? {
        if let hostname {
            let matches = isPattern ? Self.glob(hostname, matches: reported) : hostname == reported
            if !matches {
                return "this credential may write host \(isPattern ? "pattern " : "")\"\(hostname)\"; the report is for host \"\(reported)\""
            }
        }
        if let machineId, machineId != reportedMachine {
            return "this credential may write machine-id \(machineId); the report carries "
                + (reportedMachine.map { "machine-id \($0)" } ?? "no machine-id")
        }
        return nil
    }

    /// The binding in words: `host web-1`, `machine-id 4f…`, `host pattern rack7-*`.
    public var description: String {
        var parts: [String] = []
        if let hostname { parts.append((isPattern ? "host pattern " : "host ") + hostname) }
        if let machineId { parts.append("machine-id " + machineId) }
        return parts.joined(separator: ", ")
    }

    /// `*` matches any run of characters (none included); everything else matches itself.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && p[pi] != "*" && p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// A credential as stored: never its secret.
public struct Credential: Sendable, Hashable {
    /// 90 days: a compromised secret stops working within a quarter even if nobody notices. The lifetime of
    /// `capreg token issue` and `rotate` without --expires, and of every credential an enrollment makes.
    public static let defaultLifetime: Int64 = 90 * 86_400

    public var id: String
    public var role: Role
    /// A collector's host; nil for readers and admins.
    public var binding: HostBinding?
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    /// The credential this one replaced (`capreg token rotate`).
    public var rotatedFrom: String?

    /// `active`, `revoked` or `expired` at `now`.
    public func state(at now: Date) -> String {
        if revokedAt != nil { return "revoked" }
        if let expiresAt, expiresAt <= now { return "expired" }
        return "active"
    }
}

/// A credential just made, with its secret: shown once, then only its digest remains.
public struct IssuedCredential: Sendable {
    public var credential: Credential
    public var secret: String
}

public struct CredentialEvent: Sendable, Hashable {
    /// The credential it concerns; nil for the issue or revocation of an enrollment code not redeemed.
    public var credential: String?
    /// The enrollment code it concerns (its issue or revocation, or the redemption of an `enroll`), or nil.
    public var enrollmentCode: String?
    /// `issue`, `rotate`, `revoke` or `enroll` (a code redeemed: `credential` is what it became).
    public var kind: String
    public var at: Date
    public var detail: String
}

public enum CredentialError: Error, Hashable, CustomStringConvertible {
    case unknown(String)
    /// Neither a credential nor an enrollment code has this id (`capreg token revoke` takes either).
    case unknownId(String)
    /// Revoked or expired: it cannot be rotated.
    case inactive(id: String, state: String)
    case binding(String)
    /// An enrollment code's lifetime outside 1 s…7 d.
    case lifetime(String)
    /// An enrollment code already redeemed cannot be revoked: the credential it became can.
    case codeUsed(id: String, credential: String)

    public var description: String {
        switch self {
        case .unknown(let id): return "credential \(id.prefix(80)): no such credential"
        case .unknownId(let id): return "\(id.prefix(80)): no such credential or enrollment code"
        case .inactive(let id, let state): return "credential \(id): it is \(state); issue a new one instead"
        case .binding(let problem): return problem
        case .lifetime(let problem): return problem
        case .codeUsed(let id, let credential):
            return "enrollment code \(id) was already used: it became credential \(credential); revoke that instead"
        }
    }
}

/// The token's text: `capreg_` + the credential's id (16 hex digits) + `_` + 64 hex digits (256 random
/// bits). The prefix makes a leaked token easy to find (grep, secret scanners); the id lets the server
/// read one row instead of comparing against every digest.
public enum CredentialToken {
    static let prefix = "capreg_"
    static let idDigits = 16
    static let secretDigits = 64

    /// A new id and token from the system's random source (getrandom on Linux). The one maker of secrets:
    /// enrollment codes (`EnrollmentCodeText`) are made here too, under their own prefix.
    static func make(prefix: String = prefix) -> (id: String, token: String) {
        var generator = SystemRandomNumberGenerator()
        func hex(_ digits: Int) -> String {
            (0..<digits / 16).map { _ in
                let s = String(generator.next() as UInt64, radix: 16)
                return String(repeating: "0", count: 16 - s.count) + s
            }.joined()
        }
        let id = hex(idDigits)
        return (id, prefix + id + "_" + hex(secretDigits))
    }

    /// The id inside a token of this shape, or nil (a `--tokens` file token, or garbage).
    public static func id(in token: String) -> String? { id(in: token, prefix: prefix) }

    /// The id inside `prefix` + 16 hex + `_` + 64 hex, or nil.
    static func id(in token: String, prefix: String) -> String? {
        let bytes = Array(token.utf8)
        guard bytes.count == prefix.utf8.count + idDigits + 1 + secretDigits, token.hasPrefix(prefix) else { return nil }
        let id = bytes[prefix.utf8.count..<prefix.utf8.count + idDigits]
        let isHex: (UInt8) -> Bool = { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        guard id.allSatisfy(isHex), bytes[prefix.utf8.count + idDigits] == UInt8(ascii: "_"),
              bytes[(prefix.utf8.count + idDigits + 1)...].allSatisfy(isHex) else { return nil }
        return String(decoding: id, as: UTF8.self)
    }

    /// SHA-256 of a secret, in hex: what is kept of a registry credential and of a --tokens file token.
    public static func digest(_ token: String) -> String {
        var h = SHA256()
        h.update(token)
        return h.finalize()
    }

    /// Equal digests, in time independent of where they differ (every token check compares with this).
    public static func sameDigest(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
