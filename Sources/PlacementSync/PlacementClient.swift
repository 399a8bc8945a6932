import Foundation
import RegistryClient

/// Placement could not be reached, or refused a call: what, and its status (nil: no answer).
public struct PlacementFailure: Error, CustomStringConvertible {
    public var description: String
    public var status: Int?
}

/// The calls `capreg sync placement` makes of OpenStack Placement (its API reference: resource providers,
/// traits), over the one HTTP client. Microversion 1.39 (Placement 16's newest; traits on providers are
/// there since 1.6). Every call is counted, for the sync's summary.
final class PlacementClient: @unchecked Sendable {
    struct Provider: Sendable {
        var uuid: String
        var name: String
    }

    static let microversion = "placement 1.39"

    private let client: APIClient
    /// For the one call whose answer grows with the cloud: Placement lists every provider in one answer (it
    /// has no pages), about 700 bytes each with their links, and builds it slowly (100,000 providers: tens of
    /// MB, tens of seconds on a small Placement). The sync refused that answer at 16 MiB once.
    private let listing: APIClient
    static let maxListingBytes = 1 << 30
    static let listingTimeoutSeconds = 900
    private let headers: [(String, String)]
    private let lock = NSLock()
    private var sent = 0

    /// `token`: sent as X-Auth-Token (a Keystone token; `admin` for a Placement with auth_strategy noauth2).
    init(url: String, token: String?, tls: TLSOptions) throws {
        var client = try APIClient(baseURL: url, tls: tls)
        client.timeoutSeconds = 30
        self.client = client
        var listing = client
        listing.timeoutSeconds = Self.listingTimeoutSeconds
        listing.maxResponseBytes = Self.maxListingBytes
        self.listing = listing
        headers = [("OpenStack-API-Version", Self.microversion), ("Accept", "application/json")]
            + (token.map { [("X-Auth-Token", $0)] } ?? [])
    }

    var requests: Int { lock.withLock { sent } }

    private func call(_ method: String, _ path: String, _ body: Any? = nil, through client: APIClient? = nil) throws -> (status: Int, json: [String: Any]) {
        lock.withLock { sent += 1 }
        let client = client ?? self.client
        let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? []
        let response: APIClient.Response
        do {
            response = try client.request(method, client.path + path, body: bytes,
                                          headers: headers + (body == nil ? [] : [("Content-Type", "application/json")]))
        } catch {
            throw PlacementFailure(description: "Placement \(method) \(path): \(error)", status: nil)
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        return (response.status, json)
    }

    private func expect(_ status: Int, _ json: [String: Any], _ ok: Set<Int>, _ what: String) throws {
        guard ok.contains(status) else {
            let detail = ((json["errors"] as? [[String: Any]])?.first?["detail"] as? String)?
                .trimmingCharacters(in: .whitespacesAndNewlines).prefix(300) ?? ""
            let hint = status == 401 ? " (give --placement-token, or CAPREG_PLACEMENT_TOKEN)" : ""
            throw PlacementFailure(description: "Placement answered \(status) to \(what)\(hint)\(detail.isEmpty ? "" : ": \(detail)")", status: status)
        }
    }

    /// Every resource provider (Placement lists them whole).
    func providers() throws -> [Provider] {
        let (status, json) = try call("GET", "/resource_providers", through: listing)
        try expect(status, json, [200], "GET /resource_providers")
        return (json["resource_providers"] as? [[String: Any]] ?? []).compactMap { p in
            guard let uuid = p["uuid"] as? String, let name = p["name"] as? String else { return nil }
            return Provider(uuid: uuid, name: name)
        }
    }

    /// The custom traits whose names start with `prefix`.
    func traitNames(startingWith prefix: String) throws -> Set<String> {
        let (status, json) = try call("GET", "/traits?name=startswith:\(prefix)")
        try expect(status, json, [200], "GET /traits")
        return Set(json["traits"] as? [String] ?? [])
    }

    /// Creates a custom trait (201, or 204 when it exists).
    func createTrait(_ name: String) throws {
        let (status, json) = try call("PUT", "/traits/\(name)")
        try expect(status, json, [201, 204], "PUT /traits/\(name)")
    }

    /// A provider's traits and generation.
    func traits(of provider: String) throws -> (traits: Set<String>, generation: Int) {
        let (status, json) = try call("GET", "/resource_providers/\(provider)/traits")
        try expect(status, json, [200], "GET /resource_providers/\(provider)/traits")
        guard let generation = json["resource_provider_generation"] as? Int else {
            throw PlacementFailure(description: "Placement's traits of \(provider) carry no generation", status: status)
        }
        return (Set(json["traits"] as? [String] ?? []), generation)
    }

    /// Replaces a provider's traits if it is still at `generation`: false on 409 (someone else wrote it).
    func setTraits(of provider: String, _ traits: Set<String>, generation: Int) throws -> Bool {
        let (status, json) = try call("PUT", "/resource_providers/\(provider)/traits",
                                      ["resource_provider_generation": generation, "traits": traits.sorted()])
        if status == 409 { return false }
        try expect(status, json, [200], "PUT /resource_providers/\(provider)/traits")
        return true
    }
}
