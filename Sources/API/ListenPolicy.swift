/// Where the server may listen without tokens: only where nobody else can reach it.
public enum ListenPolicy {
    /// 127.0.0.0/8, ::1 and `localhost`. Anything else (0.0.0.0, ::, a LAN address, another name) is
    /// reachable from elsewhere.
    public static func isLoopback(_ host: String) -> Bool {
        let h = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" || h.lowercased() == "::ffff:127.0.0.1" { return true }
        let octets = h.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }

    /// nil when allowed; otherwise the message `capreg serve` prints before refusing to start.
    public static func refusal(host: String, hasTokens: Bool, insecure: Bool) -> String? {
        if hasTokens || insecure || isLoopback(host) { return nil }
        return "refusing to listen on \(host) without tokens: anyone who can reach it could read the fleet and push reports. "
            + "Give --tokens FILE (or CAPREG_TOKENS), listen on 127.0.0.1, or pass --insecure to accept the risk."
    }
}
