import Foundation
import Server
import Store

public struct TokenError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Bearer tokens with roles. Only SHA-256 digests are kept in memory; a presented token is hashed and
/// compared with every digest in constant time, so neither timing nor a memory dump gives a token away.
public struct TokenTable: Sendable {
    struct Entry: Sendable {
        /// `CredentialToken.digest` of the token.
        var digest: String
        var role: Role
    }

    private var entries: [Entry] = []

    /// Tokens shorter than this are refused at load: they could be guessed.
    public static let minimumLength = 16

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// `role token` per line (`role:token` too; entries may also be separated by commas, for an
    /// environment variable); `#` starts a comment; blank lines are skipped. A token listed twice, under
    /// the same role or another, is refused naming both lines: which role was meant cannot be guessed,
    /// and taking the last silently gave a reader token admin rights.
    public static func parse(_ text: String, source: String) throws -> TokenTable {
        var table = TokenTable()
        // Digest -> (line, role) of its first listing; digests, so no plain token outlives the parse.
        var seen: [String: (line: Int, role: Role)] = [:]
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for entry in line.split(separator: ",") {
                let parts = entry.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" })
                if parts.isEmpty { continue }
                let whereText = "\(source):\(number + 1)"
                guard parts.count == 2, let role = Role(rawValue: String(parts[0])) else {
                    throw TokenError(description: "\(whereText): expected `ROLE TOKEN` with ROLE one of collector, reader, admin")
                }
                let token = String(parts[1])
                guard token.count >= minimumLength else {
                    throw TokenError(description: "\(whereText): tokens must be at least \(minimumLength) characters")
                }
                let digest = CredentialToken.digest(token)
                if let first = seen[digest] {
                    throw TokenError(description: "\(whereText): this token is already listed at line \(first.line) of \(source) (as \(first.role.rawValue)); "
                                                + "list each token once, under one role")
                }
                seen[digest] = (number + 1, role)
                table.entries.append(Entry(digest: digest, role: role))
            }
        }
        return table
    }

    public mutating func add(token: String, role: Role) {
        entries.append(Entry(digest: CredentialToken.digest(token), role: role))
    }

    /// The role of `token`, or nil. Every entry is compared, whatever matched, in time independent of
    /// the bytes.
    public func role(of token: String) -> Role? { lookup(token)?.role }

    /// The role of `token` and its identity: `token:` and the first 12 hex digits of its SHA-256, stable
    /// across restarts and safe to log (it names the token without giving it away).
    func lookup(_ token: String) -> (role: Role, identity: String)? {
        let presented = CredentialToken.digest(token)
        var found: Role?
        for entry in entries where CredentialToken.sameDigest(entry.digest, presented) { found = entry.role }
        return found.map { ($0, "token:" + presented.prefix(12)) }
    }
}

/// Who a request comes from, once its token is accepted.
struct Caller: Sendable {
    /// For the server's per-identity connection share and the read gate's fairness: `cred:ID` for a
    /// registry credential, the token's identity (`TokenTable.lookup`) for a --tokens file token; without
    /// tokens (auth off) the client's address, `ip:ADDRESS`; nil for a request that needs no token (probes).
    var identity: String?
    /// The host a registry collector credential may write; nil: any host (file tokens, admins, auth off).
    var binding: HostBinding?
    /// The client's address: the socket's peer, or what a trusted proxy says it is (TrustedProxy).
    var peer: String?
}

/// The per-request decision: no token needed, token missing or wrong (401), role too weak (403).
///
/// Two sources of tokens: the --tokens file (read at start; the bootstrap for the first admin, unbound)
/// and credentials in the registry (`capreg token`). A registry credential is read by its id (a
/// primary-key read) at most every half second per token (CredentialCache), so a revocation counts
/// within one second on a running server and an expiry at once. With a trusted proxy, a client
/// certificate it verified is a third (TrustedProxy).
struct Authorizer: Sendable {
    let tokens: TokenTable
    /// Where registry credentials are looked up; nil: file tokens only.
    let credentials: Registry?
    /// The TLS proxy whose verified client certificates are identities (`serve --trusted-proxy`).
    let proxy: TrustedProxy
    /// Credentials read in the last half second (CredentialCache).
    let recent = CredentialCache()
    /// False: auth is off (no file tokens, no credential nor enrollment code in the registry when the server started, and
    /// no trusted proxy: a proxy that vouches for certificates means every caller must be someone).
    let required: Bool

    init(tokens: TokenTable, credentials: Registry? = nil, proxy: TrustedProxy = TrustedProxy()) {
        self.tokens = tokens
        self.credentials = credentials
        self.proxy = proxy
        // Fails closed: a registry that cannot say whether it holds credentials is taken to hold some.
        required = !tokens.isEmpty || !proxy.addresses.isEmpty || credentials.map { (try? $0.hasCredentials()) ?? true } ?? false
    }

    func caller(of request: HTTPRequest, needs role: Role?) throws(APIError) -> Caller {
        let peer = proxy.clientAddress(request)
        guard required else { return Caller(identity: peer.map { "ip:" + $0 }, peer: peer) }
        guard let role else { return Caller(peer: peer) }
        let challenge = [("WWW-Authenticate", "Bearer realm=\"capreg\"")]
        guard let header = request.headers["authorization"] else {
            // Mutual TLS: the certificate nginx verified is a collector bound to its CN.
            if let host = try proxy.certificateHost(request) {
                guard Role.collector.permits(role) else {
                    throw APIError(.forbidden, "forbidden", "a client certificate is a collector identity; this needs the \(role.rawValue) role (use a token)")
                }
                return Caller(identity: "cert:" + host, binding: HostBinding(hostname: host, machineId: nil), peer: peer)
            }
            throw APIError(.unauthorized, "unauthorized", "a bearer token is required (Authorization: Bearer TOKEN)", headers: challenge)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError(.unauthorized, "unauthorized", "expected `Authorization: Bearer TOKEN`", headers: challenge)
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        let granted: Role, caller: Caller
        if let credential = try registryCredential(token) {
            granted = credential.role
            caller = Caller(identity: "cred:" + credential.id, binding: credential.binding, peer: peer)
        } else if let (role, identity) = tokens.lookup(token) {
            granted = role
            caller = Caller(identity: identity, peer: peer)
        } else {
            // Unknown, revoked and expired alike: saying which would tell a thief which stolen token once worked.
            throw APIError(.unauthorized, "unauthorized", "the token is not valid",
                           headers: [("WWW-Authenticate", "Bearer realm=\"capreg\", error=\"invalid_token\"")])
        }
        guard granted.permits(role) else {
            throw APIError(.forbidden, "forbidden", "a \(granted.rawValue) token may not do this; it needs the \(role.rawValue) role")
        }
        return caller
    }

    /// The active registry credential `token` is the secret of, or nil.
    private func registryCredential(_ token: String) throws(APIError) -> Credential? {
        guard let credentials, CredentialToken.id(in: token) != nil else { return nil }
        do {
            return try recent.credential(presenting: token) { try credentials.credential(presenting: $0) }
        } catch {
            throw APIError(.serviceUnavailable, "credentials_unavailable", "the registry could not check the token; retry",
                           headers: [("Retry-After", "1")])
        }
    }

    /// The address part of `ip:port` / `[ip]:port`; nil outside a server (no address).
    static func address(_ remote: String) -> String? {
        if remote.hasPrefix("["), let end = remote.firstIndex(of: "]") { return String(remote[remote.index(after: remote.startIndex)..<end]) }
        guard let colon = remote.lastIndex(of: ":") else { return remote.isEmpty ? nil : remote }
        return String(remote[..<colon])
    }
}
