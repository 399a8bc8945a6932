import Exports
import Foundation
import RegistryClient

/// Puts capreg's traits on the hosts' resource providers in OpenStack Placement (docs/placement.md):
/// a provider whose name is a host's hostname (Nova names a compute node's provider after its hypervisor
/// hostname) gets exactly the `CUSTOM_CAPREG_` traits the host's facts give (PlacementTraits), and keeps
/// every other trait it has. A stale host gets none of capreg's (fail closed: a scheduler must not
/// place on what nobody has confirmed lately). Writes honour the provider's generation: on 409 the
/// traits are read again and the write retried.
public final class PlacementSync: @unchecked Sendable {
    /// One host's desired capreg traits; nil: stale, so none.
    public struct Host: Sendable {
        public var hostname: String
        public var traits: [String]?

        public init(hostname: String, traits: [String]?) {
            self.hostname = hostname
            self.traits = traits
        }
    }

    public struct Summary: Sendable {
        public var providers = 0
        public var hosts = 0
        /// Providers whose traits were written (changed), left as they were, and cleared of capreg's (stale).
        public var updated = 0
        public var unchanged = 0
        public var cleared = 0
        /// Hosts with no provider of their name.
        public var unmatched: [String] = []
        /// Writes refused for a changed generation, and retried.
        public var conflicts = 0
        public var requests = 0
    }

    /// Writes a provider's traits at most this many times when its generation keeps changing.
    static let attempts = 5

    /// Called with a provider's uuid between reading its traits and writing them (tests: another writer).
    var beforeWrite: ((String) -> Void)?

    private let client: PlacementClient
    private var byName: [String: String] = [:]
    private var knownTraits: Set<String> = []

    public init(url: String, token: String?, tls: TLSOptions = TLSOptions()) throws {
        client = try PlacementClient(url: url, token: token, tls: tls)
    }

    public var requests: Int { client.requests }

    /// Whether a provider of this name was there when the providers were last read.
    public func knows(_ hostname: String) -> Bool { byName[hostname] != nil }

    /// Reads the providers and the custom traits capreg made before (once per sync, or again with `refresh`).
    public func load() throws -> Int {
        byName = Dictionary(try client.providers().map { ($0.name, $0.uuid) }, uniquingKeysWith: { first, _ in first })
        knownTraits = try client.traitNames(startingWith: PlacementTraits.prefix)
        return byName.count
    }

    /// Syncs `hosts`; providers of other names are not touched.
    public func apply(_ hosts: [Host]) throws -> Summary {
        var summary = Summary()
        summary.providers = byName.count
        summary.hosts = hosts.count
        // Every trait capreg may set exists, whether a host has it or not: Placement refuses a question naming a
        // trait it does not know (400), where capreg's answer would be "no host".
        for trait in Set(hosts.flatMap { $0.traits ?? [] }).union(PlacementTraits.all).subtracting(knownTraits).sorted() {
            try client.createTrait(trait)
            knownTraits.insert(trait)
        }
        for host in hosts {
            guard let provider = byName[host.hostname] else {
                summary.unmatched.append(host.hostname)
                continue
            }
            let wanted = Set(host.traits ?? [])
            var done = false
            for _ in 0..<Self.attempts {
                let (current, generation) = try client.traits(of: provider)
                let desired = current.filter { !$0.hasPrefix(PlacementTraits.prefix) }.union(wanted)
                if desired == current {
                    summary.unchanged += 1
                    done = true
                    break
                }
                beforeWrite?(provider)
                if try client.setTraits(of: provider, desired, generation: generation) {
                    if host.traits == nil { summary.cleared += 1 } else { summary.updated += 1 }
                    done = true
                    break
                }
                summary.conflicts += 1
            }
            if !done {
                throw PlacementFailure(description: "provider \(host.hostname): its generation changed \(Self.attempts) times while capreg wrote its traits",
                                       status: 409)
            }
        }
        summary.requests = client.requests
        return summary
    }
}
