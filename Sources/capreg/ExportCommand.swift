import API
import ArgumentParser
import Exports
import Foundation
import Glibc
import Query
import RegistryClient
import Store

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the registry's answers in a scheduler's own format, or its history for auditors.",
        subcommands: [ExportDRACommand.self, ExportHistoryCommand.self]
    )
}

struct ExportDRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dra",
        abstract: "Kubernetes DRA ResourceSlices (resource.k8s.io/v1) of the hosts' PCI devices.",
        discussion: """
        One pool per node, named as the host (a node named as its hypervisor host), one device per PCI \
        device behind an IOMMU (bridges left out), each with its own facts and its host's IOMMU and kernel \
        as attributes (docs/dra.md). An unknown fact is no attribute. Hosts not seen within --stale-after \
        publish nothing (fail closed), nor do hosts whose name is no Kubernetes node name.

        Without --out: one Kubernetes List on standard output (kubectl apply -f -). With --out DIR: one file \
        per node, DIR/NODE.json, each replaced atomically and only when it changes; files of nodes no longer \
        exported are removed (DIR is capreg's). --follow (with --out) then follows the registry's change \
        stream and rewrites the files of the hosts each event names, until stopped.

        Hosts come from --db or from a running registry (--server URL, --token a reader token).

        Exit status: 0 written, 64 bad arguments, 65 a bad EXPR, 66 no database at --db, 69 the registry \
        unreachable or refusing, 73 --out not writable, 77 a token refused.
        """
    )

    @Argument(help: "Export only the hosts matching this query expression (docs/queries.md).")
    var expression: String?

    @Option(help: ArgumentHelp("The DRA driver name the slices carry (a DNS subdomain, at most 63 characters).", valueName: "name"))
    var driver = DRAResourceSlices.defaultDriver

    @Option(help: ArgumentHelp("Hosts not seen for longer publish nothing (90s, 30m, 2h, 7d).", valueName: "duration"))
    var staleAfter = ServeCommand.defaultStaleAfter

    @Option(help: ArgumentHelp("Write one file per node into this directory instead of standard output.", valueName: "dir"))
    var out: String?

    @Flag(help: "With --out: after writing every node, follow the change stream and rewrite the nodes it names.")
    var follow = false

    @Option(help: ArgumentHelp("Read hosts from a running registry (capreg serve) instead of --db.", valueName: "url"))
    var server: String?

    @Option(help: "Reader token for --server (default: $CAPREG_TOKEN).")
    var token: String?

    @OptionGroup var tls: TLSClientOptions

    @OptionGroup var store: StoreOptions

    func validate() throws {
        do { _ = try DurationText.parse(staleAfter) } catch { throw ValidationError("--stale-after \(error)") }
        guard DRAResourceSlices.isDriverName(driver) else {
            throw ValidationError("--driver \(driver.prefix(80)): a DRA driver name is a DNS subdomain of at most 63 characters, e.g. capreg.io")
        }
        if follow && out == nil { throw ValidationError("--follow needs --out DIR (the files it keeps current)") }
    }

    func run() throws {
        let filter = try QueryText.filter(expression, command: "capreg export dra")
        let stale = try DurationText.parse(staleAfter).timeInterval
        do {
            let source: DRASource
            if let server {
                source = try RemoteDRA(server: server, token: token ?? ProcessInfo.processInfo.environment["CAPREG_TOKEN"], tls: tls.resolved(),
                                       expression: filter == nil ? nil : expression, driver: driver, staleAfter: staleAfter)
            } else {
                guard try store.location.exists else {
                    printError("capreg export dra: no registry database at \(store.db) (give --db, or --server URL)")
                    throw ExitCode(66)
                }
                source = LocalDRA(registry: try store.open(), filter: filter, driver: driver, staleAfter: stale)
            }
            guard let out else {
                // One List, written as its pages arrive.
                let stdout = FileHandle.standardOutput
                stdout.write(Data(DRAResourceSlices.listHead))
                var first = true
                var count = 0
                try source.forEachPage { slices in
                    for (_, nodeSlices) in slices {
                        for slice in nodeSlices {
                            stdout.write(Data((first ? "" : ",").utf8) + Data(slice))
                            first = false
                            count += 1
                        }
                    }
                }
                stdout.write(Data(DRAResourceSlices.listTail() + [0x0A]))
                printError("capreg export dra: \(count) ResourceSlice\(count == 1 ? "" : "s")")
                return
            }
            let directory = try DRADirectory(path: out)
            let watch: (any WatchSource)? = follow ? try source.watchSource() : nil
            var position = try watch?.start(since: nil) ?? 0
            var nodes = Set<String>()
            var written = 0
            try source.forEachPage { slices in
                for (node, nodeSlices) in slices where !nodeSlices.isEmpty {
                    nodes.insert(node)
                    if try directory.write(node: node, slices: nodeSlices) { written += 1 }
                }
            }
            let removed = try directory.removeAll(except: nodes)
            directory.sync()
            printError("capreg export dra: \(nodes.count) nodes in \(out): \(written) written, \(nodes.count - written) unchanged, \(removed) removed")
            guard let watch else { return }
            Follow.stopOnSignal()
            while true {
                let (events, next) = try Follow.next(watch, after: position, name: "capreg export dra")
                let names = Array(Set(events.map(\.0.hostname))).sorted()
                var changed = 0
                for name in names where DRAResourceSlices.isDNSSubdomain(name) {
                    let slices = try Follow.retrying("capreg export dra") { try source.node(name) }
                    changed += try slices.isEmpty ? (directory.remove(node: name) ? 1 : 0) : (directory.write(node: name, slices: slices) ? 1 : 0)
                }
                position = next
                if changed > 0 {
                    directory.sync()
                    printError("capreg export dra: \(events.count) events to event \(next): \(changed) nodes rewritten or removed")
                }
            }
        } catch let failure as WatchFailure {
            printError("capreg export dra: \(failure.message)")
            throw ExitCode(failure.exitCode)
        } catch let error as HostAnswerError {
            printError("capreg export dra: \(error)")
            throw ExitCode(65)
        } catch let error as DRADirectory.Failure {
            printError("capreg export dra: \(error.message)")
            throw ExitCode(73)
        }
    }
}

/// Where `capreg export dra` reads slices: pages of (node, its slices), and one node again.
protocol DRASource {
    func forEachPage(_ body: ([(String, [[UInt8]])]) throws -> Void) throws
    /// One node's slices as now (empty: stale, gone, no devices, or not matching).
    func node(_ hostname: String) throws -> [[UInt8]]
    func watchSource() throws -> any WatchSource
}

/// From --db: the registry's pages of fresh matching hosts with their devices (HostQueryRequest.devices).
struct LocalDRA: DRASource {
    let registry: Registry
    let filter: QueryExpr?
    let driver: String
    let staleAfter: TimeInterval

    func request(cursor: String?, hostname: String? = nil) -> HostQueryRequest {
        var r = HostQueryRequest(filter, limit: 500, cursor: cursor, freshWithin: staleAfter)
        r.devices = true
        r.hostname = hostname
        return r
    }

    func forEachPage(_ body: ([(String, [[UInt8]])]) throws -> Void) throws {
        var cursor: String?
        repeat {
            let page = try registry.answer(request(cursor: cursor)).matches
            try body(API.draSlices(page.hosts, driver: driver))
            cursor = page.nextCursor
        } while cursor != nil
    }

    func node(_ hostname: String) throws -> [[UInt8]] {
        try API.draSlices(registry.answer(request(cursor: nil, hostname: hostname)).matches.hosts, driver: driver).flatMap(\.slices)
    }

    func watchSource() throws -> any WatchSource { LocalWatch(registry: registry, filter: nil) }
}

/// From --server: GET /v1/exports/dra pages (metadata.continue), and ?node= for one node.
struct RemoteDRA: DRASource {
    let client: APIClient
    let server: String
    let token: String?
    let tls: TLSOptions
    let query: [(String, String)]

    init(server: String, token: String?, tls: TLSOptions, expression: String?, driver: String, staleAfter: String) throws {
        do { client = try APIClient(baseURL: server, token: token, tls: tls) } catch { throw WatchFailure(message: "\(error)", exitCode: 69) }
        self.server = server
        self.token = token
        self.tls = tls
        query = [("driver", driver), ("fresh_within", staleAfter)] + (expression.map { [("where", $0)] } ?? [])
    }

    /// A List's items, grouped by node (spec.nodeName), in order.
    func get(_ extra: [(String, String)]) throws -> (items: [(String, [[UInt8]])], next: String?) {
        let response: APIClient.Response
        do { response = try client.get(APIClient.target("/v1/exports/dra", query + extra)) } catch {
            throw WatchFailure(message: "\(server): \(error)", exitCode: 69)
        }
        guard response.status == 200 else { throw WatchFailure(refusal: response, server: server, question: [400]) }
        guard let list = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], let items = list["items"] as? [[String: Any]] else {
            throw WatchFailure(message: "\(server): an answer that is not a List of ResourceSlices", exitCode: 69)
        }
        var grouped: [(String, [[UInt8]])] = []
        for item in items {
            let node = ((item["spec"] as? [String: Any])?["nodeName"] as? String) ?? ""
            let bytes = DRADirectory.canonical(item)
            if grouped.last?.0 == node { grouped[grouped.count - 1].1.append(bytes) } else { grouped.append((node, [bytes])) }
        }
        return (grouped, (list["metadata"] as? [String: Any])?["continue"] as? String)
    }

    func forEachPage(_ body: ([(String, [[UInt8]])]) throws -> Void) throws {
        var cursor: String?
        repeat {
            let page = try get([("limit", "1000")] + (cursor.map { [("cursor", $0)] } ?? []))
            try body(page.items)
            cursor = page.next
        } while cursor != nil
    }

    func node(_ hostname: String) throws -> [[UInt8]] { try get([("node", hostname)]).items.flatMap(\.1) }

    func watchSource() throws -> any WatchSource { try RemoteWatch(server: server, token: token, tls: tls, expression: nil) }
}

/// --out DIR: DIR/NODE.json per node (a List of its slices), replaced atomically when it changes.
struct DRADirectory {
    struct Failure: Error { var message: String }
    let path: String

    init(path: String) throws {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw Failure(message: "--out \(path): cannot create the directory (\(error.localizedDescription))")
            }
        } else if !isDirectory.boolValue {
            throw Failure(message: "--out \(path): not a directory")
        }
        self.path = path
    }

    /// A List of the slices. Their keys are in byte order: DRAResourceSlices writes its slices so, and a
    /// remote registry's (read and written again by JSONSerialization, `canonical`) come out the same bytes,
    /// so an unchanged node is never rewritten whichever source it came from.
    static func contents(_ slices: [[UInt8]]) -> [UInt8] { DRAResourceSlices.list(slices) + [0x0A] }

    /// A slice as JSONSerialization writes it with sorted keys and slashes as they are.
    static func canonical(_ item: Any) -> [UInt8] {
        [UInt8]((try? JSONSerialization.data(withJSONObject: item, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    /// True when the file was written (it differed or was missing).
    func write(node: String, slices: [[UInt8]]) throws -> Bool {
        let bytes = Self.contents(slices)
        let file = path + "/" + node + ".json"
        if let existing = FileManager.default.contents(atPath: file), [UInt8](existing) == bytes { return false }
        // A dot file renamed into place: a reader sees the old file or the new, never half of one. Not synced
        // one by one (90,000 fsyncs were most of a fleet's export): `sync()` once after a pass; a file lost to
        // a crash before it differs from the next export and is written again.
        let temporary = path + "/." + node + ".json.tmp"
        do { try Data(bytes).write(to: URL(fileURLWithPath: temporary)) } catch {
            throw Failure(message: "--out \(path): cannot write \(node).json (\(error.localizedDescription))")
        }
        guard rename(temporary, file) == 0 else {
            throw Failure(message: "--out \(path): cannot rename into \(node).json (\(String(cString: strerror(errno))))")
        }
        return true
    }

    /// Everything written reaches the disk (once per pass, not per file).
    func sync() { Glibc.sync() }

    func remove(node: String) throws -> Bool {
        let file = path + "/" + node + ".json"
        guard FileManager.default.fileExists(atPath: file) else { return false }
        do { try FileManager.default.removeItem(atPath: file) } catch { throw Failure(message: "--out \(path): cannot remove \(node).json") }
        return true
    }

    /// Removes every NODE.json whose node is not in `nodes`; how many.
    func removeAll(except nodes: Set<String>) throws -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var removed = 0
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") && !nodes.contains(String(name.dropLast(5))) {
            if try remove(node: String(name.dropLast(5))) { removed += 1 }
        }
        return removed
    }
}
