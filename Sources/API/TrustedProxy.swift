#if canImport(Glibc)
import Glibc
#endif
import Report
import Server
import Store

/// The TLS-terminating proxy in front of capreg serve (nginx, deploy/nginx), and what capreg believes of
/// it. From one of `addresses` only, three header fields are taken as facts the proxy vouches for:
///
/// - `X-Real-IP`: the client's address, recorded as the writer's peer and used as the identity of a
///   client without credentials;
/// - `X-Client-Verify: SUCCESS` with `X-Client-Subject: <the certificate's subject DN>`: nginx verified
///   the client's certificate against the fleet CA (and its CRL); the certificate's CN is the host it
///   speaks for, so the caller is a collector bound to that hostname.
///
/// From any other address the three fields are ignored: a client reaching capreg directly cannot name
/// itself. nginx replaces each field (proxy_set_header), so a client of nginx cannot smuggle them either.
public struct TrustedProxy: Sendable {
    public static let realIPHeader = "X-Real-IP"
    public static let verifyHeader = "X-Client-Verify"
    public static let subjectHeader = "X-Client-Subject"

    /// Addresses (as the server prints them, without port) whose header fields are believed. Empty: none.
    public let addresses: Set<String>

    public init(addresses: [String] = []) {
        self.addresses = Set(addresses)
    }

    /// An IPv4 or IPv6 address in text (what `--trusted-proxy` takes), checked by inet_pton.
    public static func isAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// Whether `request` came through a trusted proxy.
    func vouchesFor(_ request: HTTPRequest) -> Bool {
        guard !addresses.isEmpty, let peer = Authorizer.address(request.remoteAddress) else { return false }
        return addresses.contains(peer)
    }

    /// The client's address: the proxy's `X-Real-IP` when it is trusted and gives one, else the socket's peer.
    func clientAddress(_ request: HTTPRequest) -> String? {
        let told = request.headers.values(Self.realIPHeader)
        if told.count == 1, let address = told.first, Self.isAddress(address), vouchesFor(request) { return address }
        return Authorizer.address(request.remoteAddress)
    }

    /// The hostname a verified client certificate speaks for, or nil when the request carries none
    /// (or does not come through a trusted proxy). A subject that is there but unusable is refused, so
    /// a misconfigured CA or proxy is seen at once rather than silently downgraded to "no certificate".
    func certificateHost(_ request: HTTPRequest) throws(APIError) -> String? {
        guard vouchesFor(request) else { return nil }
        let verify = request.headers.values(Self.verifyHeader)
        let subject = request.headers.values(Self.subjectHeader)
        guard !(verify.isEmpty && subject.isEmpty) else { return nil }
        guard verify == ["SUCCESS"], subject.count == 1, let dn = subject.first else {
            // nginx sends NONE without a certificate and FAILED:reason for a bad one (optional_no_ca setups).
            if verify.count == 1, verify[0] == "NONE", subject.allSatisfy(\.isEmpty) { return nil }
            throw APIError(.unauthorized, "unauthorized", "the client certificate was not verified by the proxy (\(Self.verifyHeader): \(verify.first?.prefix(80) ?? "missing"))")
        }
        guard let cn = Self.commonName(dn) else {
            throw APIError(.unauthorized, "unauthorized", "the client certificate's subject has no usable CN (one hostname, no escapes)")
        }
        if let problem = Report.hostnameProblem(cn) {
            throw APIError(.forbidden, "forbidden", "the client certificate's CN cannot be a host: \(problem)")
        }
        return cn
    }

    /// The CN of an RFC 2253 / RFC 4514 subject (`CN=host-1,O=fleet`, as nginx's $ssl_client_s_dn gives it).
    /// nil when there is none, more than one, or it uses escapes: a hostname needs none, and parsing
    /// escapes is where two parsers start to disagree about who a certificate names.
    static func commonName(_ dn: String) -> String? {
        guard dn.count <= 1024, !dn.contains("\\"), !dn.contains("+") else { return nil }
        let names = dn.split(separator: ",").compactMap { part -> Substring? in
            let trimmed = part.drop(while: { $0 == " " })
            guard trimmed.count > 3, trimmed.prefix(3).uppercased() == "CN=" else { return nil }
            return trimmed.dropFirst(3)
        }
        guard names.count == 1, let name = names.first, !name.isEmpty else { return nil }
        return String(name)
    }
}
