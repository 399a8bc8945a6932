import API
import ArgumentParser
import Decoders
import Exports
import Foundation
import PlacementSync
import RegistryClient
import Store
import Timestamps

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Keep a scheduler's own records in step with the registry.",
        subcommands: [SyncPlacementCommand.self]
    )
}

struct SyncPlacementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement",
        abstract: "Put capreg's traits on the hosts' resource providers in OpenStack Placement.",
        discussion: """
        A resource provider named as a host (Nova names a compute node's provider after its hypervisor \
        hostname) gets the CUSTOM_CAPREG_ traits of the host's facts (docs/placement.md): usable booleans \
        that are true (CUSTOM_CAPREG_NESTING), numbers as ladders (CUSTOM_CAPREG_PASID_BITS_GE_20), texts as \
        their values (CUSTOM_CAPREG_FIRST_LEVEL_FORMAT_INTEL_VTD) and the profiles the host satisfies \
        (CUSTOM_CAPREG_PROFILE_VTD_NESTED). Its other traits are kept; only CUSTOM_CAPREG_ ones are \
        added or removed. A host not seen within --stale-after gets none of capreg's (fail closed). Writes \
        honour each provider's generation (409: read again, retry).

        Hosts come from --db or from a running registry (--server URL, --token a reader token). Once by \
        default; --follow then follows the registry's change stream and syncs each host an event names, \
        within about a second of its change (stale hosts included), until stopped.

        Exit status: 0 synced (a summary on standard error), 66 no database at --db, 69 Placement or the \
        registry unreachable or refusing, 77 a token refused.
        """
    )

    @Option(help: ArgumentHelp("Placement's endpoint (e.g. http://controller:8778 or https://…/placement).", valueName: "url"))
    var url: String

    @Option(help: ArgumentHelp("Placement token sent as X-Auth-Token (a Keystone token; `admin` for auth_strategy noauth2); default $CAPREG_PLACEMENT_TOKEN.",
                               valueName: "token"))
    var placementToken: String?

    @Option(help: ArgumentHelp("Hosts not seen for longer lose capreg's traits (90s, 30m, 2h, 7d).", valueName: "duration"))
    var staleAfter = ServeCommand.defaultStaleAfter

    @Flag(help: "After syncing every host, follow the change stream and sync the hosts it names.")
    var follow = false

    @Option(help: ArgumentHelp("Read hosts from a running registry (capreg serve) instead of --db.", valueName: "url"))
    var server: String?

    @Option(help: "Reader token for --server (default: $CAPREG_TOKEN).")
    var token: String?

    @OptionGroup var tls: TLSClientOptions

    @OptionGroup var store: StoreOptions

    func validate() throws {
        do { _ = try DurationText.parse(staleAfter) } catch { throw ValidationError("--stale-after \(error)") }
    }

    func run() throws {
        let staleSeconds = try DurationText.parse(staleAfter).timeInterval
        let hosts: PlacementHostSource
        if let server {
            hosts = try RemotePlacementHosts(server: server, token: token ?? ProcessInfo.processInfo.environment["CAPREG_TOKEN"],
                                             tls: tls.resolved(), staleAfter: staleSeconds)
        } else {
            guard try store.location.exists else {
                printError("capreg sync placement: no registry database at \(store.db) (give --db, or --server URL)")
                throw ExitCode(66)
            }
            hosts = LocalPlacementHosts(registry: try store.open(), staleAfter: staleSeconds)
        }
        do {
            let sync: PlacementSync
            do {
                sync = try PlacementSync(url: url, token: placementToken ?? ProcessInfo.processInfo.environment["CAPREG_PLACEMENT_TOKEN"])
            } catch {
                throw ValidationError("--url \(error)")
            }
            let started = Date()
            // The stream's position before the hosts are read: nothing that changes during the sync is missed.
            let watch: (any WatchSource)? = follow ? try hosts.watchSource() : nil
            var position = try watch?.start(since: nil) ?? 0
            _ = try sync.load()
            var loaded = Date()
            let summary = try sync.apply(try hosts.all())
            printError(Self.line(summary, seconds: Date().timeIntervalSince(started)))
            guard let watch else { return }
            Follow.stopOnSignal()
            while true {
                let (events, next) = try Follow.next(watch, after: position, name: "capreg sync placement")
                let names = Array(Set(events.map(\.0.hostname))).sorted()
                guard !names.isEmpty else {
                    position = next
                    continue
                }
                // Placement or the registry away for a moment: the same events are tried again (position stays).
                let done = try Follow.retrying("capreg sync placement") { () throws -> PlacementSync.Summary in
                    do {
                        // A provider made since the last read (a new compute node) is found by reading them again, once a minute at most.
                        if names.contains(where: { !sync.knows($0) }) && Date().timeIntervalSince(loaded) > 60 {
                            _ = try sync.load()
                            loaded = Date()
                        }
                        return try sync.apply(try names.compactMap { try hosts.one($0) })
                    } catch let failure as PlacementFailure where failure.status == nil || failure.status! >= 500 {
                        throw WatchFailure(message: failure.description, exitCode: 69)
                    }
                }
                position = next
                printError("capreg sync placement: \(events.count) event\(events.count == 1 ? "" : "s") to event \(next): "
                           + "\(done.updated) updated, \(done.cleared) cleared, \(done.unchanged) unchanged, \(done.unmatched.count) without a provider")
            }
        } catch let failure as WatchFailure {
            printError("capreg sync placement: \(failure.message)")
            throw ExitCode(failure.exitCode)
        } catch let failure as PlacementFailure {
            printError("capreg sync placement: \(failure)")
            throw ExitCode(failure.status == 401 || failure.status == 403 ? 77 : 69)
        } catch let error as APIClient.ClientError {
            printError("capreg sync placement: \(error)")
            throw ExitCode(69)
        }
    }

    static func line(_ s: PlacementSync.Summary, seconds: Double) -> String {
        var text = "capreg sync placement: \(s.hosts) hosts, \(s.providers) providers: \(s.updated) updated, \(s.cleared) cleared (stale), "
            + "\(s.unchanged) unchanged, \(s.unmatched.count) hosts without a provider, \(s.conflicts) generation conflicts retried; "
            + "\(s.requests) requests to Placement in \(String(format: "%.1f", seconds)) s"
        if !s.unmatched.isEmpty { text += " (first without a provider: \(s.unmatched.prefix(3).joined(separator: ", ")))" }
        return text
    }
}

/// Where `capreg sync placement` reads hosts: their desired traits, nil for a stale host.
protocol PlacementHostSource {
    func all() throws -> [PlacementSync.Host]
    /// One host by name, as now (nil: no such host).
    func one(_ hostname: String) throws -> PlacementSync.Host?
    func watchSource() throws -> any WatchSource
}

extension PlacementHostSource {
    static func host(_ hostname: String, facts: [String: FactValue], kernel: String?, labels: [String: String], stale: Bool) -> PlacementSync.Host {
        PlacementSync.Host(hostname: hostname, traits: stale ? nil : PlacementTraits.of(facts: facts, kernelRelease: kernel, labels: labels))
    }
}

struct LocalPlacementHosts: PlacementHostSource {
    let registry: Registry
    let staleAfter: TimeInterval

    private func host(_ s: HostState) -> PlacementSync.Host {
        Self.host(s.hostname, facts: Dictionary(s.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                  kernel: s.kernelRelease, labels: s.labels, stale: s.lastSeen < Date().addingTimeInterval(-staleAfter))
    }

    func all() throws -> [PlacementSync.Host] { try registry.hosts().map(host) }
    func one(_ hostname: String) throws -> PlacementSync.Host? { try registry.currentState(hostname: hostname).map(host) }
    func watchSource() throws -> any WatchSource { LocalWatch(registry: registry, filter: nil) }
}

/// Hosts from GET /v1/hosts (every host, whatever its age: staleness is --stale-after's), through the pages
/// `capreg query --server` reads, and GET /v1/hosts/{host}.
struct RemotePlacementHosts: PlacementHostSource {
    let client: APIClient
    let server: String
    let token: String?
    let tls: TLSOptions
    let staleAfter: TimeInterval

    init(server: String, token: String?, tls: TLSOptions, staleAfter: TimeInterval) throws {
        do { client = try APIClient(baseURL: server, token: token, tls: tls) } catch { throw WatchFailure(message: "\(error)", exitCode: 69) }
        self.server = server
        self.token = token
        self.tls = tls
        self.staleAfter = staleAfter
    }

    private func host(_ hostname: String, facts: [String: FactValue], kernel: String?, labels: [String: String], lastSeen: Date) -> PlacementSync.Host {
        Self.host(hostname, facts: facts, kernel: kernel, labels: labels, stale: lastSeen < Date().addingTimeInterval(-staleAfter))
    }

    func all() throws -> [PlacementSync.Host] {
        var out: [PlacementSync.Host] = []
        var cursor: String?
        repeat {
            let answer: RemoteQuery.Answer
            do {
                answer = try RemoteQuery.page(server: server, token: token, tls: tls, expression: nil, asOf: nil, fields: nil,
                                              limit: 1000, cursor: cursor, freshWithin: "off")
            } catch RemoteQuery.Failure.unauthorized(let message) {
                throw WatchFailure(message: "\(server): \(message)", exitCode: 77)
            } catch RemoteQuery.Failure.refused(_, let message, _, _) {
                throw WatchFailure(message: "\(server): \(message)", exitCode: 69)
            } catch RemoteQuery.Failure.unavailable(let message) {
                throw WatchFailure(message: message, exitCode: 69)
            }
            out += answer.page.hosts.map { h in
                host(h.hostname, facts: Dictionary(h.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                     kernel: h.kernelRelease, labels: h.labels, lastSeen: h.reportedAt)
            }
            cursor = answer.page.nextCursor
        } while cursor != nil
        return out
    }

    /// GET /v1/hosts/{host}'s fields that matter here.
    private struct Detail: Decodable {
        var hostname: String
        var kernel: String?
        var labels: [String: String]?
        var facts: [String: JSONFactValue]?
        var last_seen: String
    }

    func one(_ hostname: String) throws -> PlacementSync.Host? {
        let response: APIClient.Response
        do { response = try client.get("/v1/hosts/\(APIClient.encode(hostname))") } catch {
            throw WatchFailure(message: "\(server): \(error)", exitCode: 69)
        }
        if response.status == 404 { return nil }
        guard response.status == 200 else {
            throw WatchFailure(message: "\(server) answered \(response.status) for host \(hostname.prefix(80)): \(response.text.prefix(300))",
                               exitCode: response.status == 401 || response.status == 403 ? 77 : 69)
        }
        do {
            let d = try JSONDecoder().decode(Detail.self, from: Data(response.body))
            return host(d.hostname, facts: (d.facts ?? [:]).mapValues(\.value), kernel: d.kernel, labels: d.labels ?? [:],
                        lastSeen: try RFC3339.parse(d.last_seen))
        } catch {
            throw WatchFailure(message: "\(server): an answer that is not the registry's: \(error)", exitCode: 69)
        }
    }

    func watchSource() throws -> any WatchSource { try RemoteWatch(server: server, token: token, tls: tls, expression: nil) }
}
