import API
import ArgumentParser
import Decoders
import Foundation
import Store

/// `capreg diff --at T1 --at T2`: the fleet, or one host, at two times.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "The fleet (or one host) at two times: hosts added and gone stale, and per fact the hosts whose value changed.",
        discussion: """
        Compares the registry's view of two times (as it knows them now: retracted reports left out), or \
        with --revision twice the registry as it stood at two revisions (each host's state as answers at that \
        revision read it; no stale or back between revisions: heartbeats make none). \
        Lists, counts first: hosts added (first report between the times), gone (a state at the first time \
        and none at the second; never between two times, kept for the document's shape), stale (seen within \
        --stale-after at the first time, not at the second) and back (the reverse); then, for hosts with a \
        state at both times, each fact whose value differs, with its before and after values (- absent), \
        how many hosts and the first --host-limit of their names (--hosts-after for the next page). \
        A changed kernel release is listed as the fact `kernel`. Evidence (evidence.*) is left out unless \
        --layer evidence.

        Reads --db, or a running registry with --server (GET /v1/audits/fleet-diff).

        Exit status: 0 listed; 64 usage; 65 no such host (--host); 66 no database at --db; 69 the registry \
        unreachable; 77 a token refused.
        """
    )

    @Option(help: ArgumentHelp("A time, given twice: the earlier and the later (RFC 3339, a date, or a duration ago such as 30d).", valueName: "time"))
    var at: [String] = []

    @Option(help: ArgumentHelp("A registry revision, given twice instead of --at: the registry as it stood after each.", valueName: "n"))
    var revision: [Int64] = []

    @Option(help: ArgumentHelp("Only this host.", valueName: "hostname"))
    var host: String?

    @Option(help: ArgumentHelp("Only this fact's changes (kernel: the kernel release).", valueName: "name"))
    var fact: String?

    @Option(help: ArgumentHelp("A host not seen for longer before a time is stale then (90s, 30m, 2h, 7d).", valueName: "duration"))
    var staleAfter = ServeCommand.defaultStaleAfter

    @OptionGroup var list: AuditListOptions

    @OptionGroup var source: ReportSourceOptions

    func validate() throws {
        if !revision.isEmpty {
            guard at.isEmpty else { throw ValidationError("give --at twice or --revision twice, not both") }
            guard revision.count == 2 else { throw ValidationError("give --revision twice: the earlier revision and the later one") }
            guard revision[0] >= 1, revision[0] <= revision[1] else { throw ValidationError("--revision: two revisions from 1, the earlier first") }
        } else {
            guard at.count == 2 else { throw ValidationError("give --at twice (the earlier time and the later one), or --revision twice") }
            let times = try at.map { try TimeArgument.parse($0, option: "--at", now: Date()) }
            if times[0] > times[1] { throw ValidationError("the first --at must not be after the second") }
        }
        do { _ = try DurationText.parse(staleAfter) } catch { throw ValidationError("--stale-after \(error)") }
        if let host, host.isEmpty || host.utf8.count > 255 { throw ValidationError("--host must be a hostname of 1 to 255 bytes") }
        if let fact, fact != FleetDiffRequest.kernelFact, Vocabulary.entry(fact) == nil {
            throw ValidationError("--fact \(fact.prefix(80)): not a host fact of the vocabulary (capreg vocabulary), nor kernel")
        }
    }

    func run() throws {
        let now = Date()
        let times = try at.map { try TimeArgument.parse($0, option: "--at", now: now) }
        var request = FleetDiffRequest(from: times.first ?? now, to: times.last ?? now, staleAfter: try DurationText.parse(staleAfter).timeInterval)
        if revision.count == 2 {
            request.fromRevision = revision[0]
            request.toRevision = revision[1]
        }
        request.hostname = host
        request.fact = fact
        if let layers = try list.layerSet() { request.layers = layers }
        request.hostLimit = list.hostLimit
        request.hostsAfter = list.hostsAfter
        let bytes = try source.document("capreg diff", path: "/v1/audits/fleet-diff", items: FleetDiffParameters.items(request)) { registry in
            do {
                return FleetDiffJSON.document(try registry.fleetDiff(request), request)
            } catch let missing as FleetDiffNoSuchHost {
                throw QuestionRefused(message: "no host named \(missing.hostname)", exitCode: 65)
            } catch let refused as AuditRequestError {
                throw QuestionRefused(message: "\(refused.parameter): \(refused.message)", exitCode: 64)
            }
        }
        if list.json {
            FileHandle.standardOutput.write(Data(bytes + [0x0A]))
            return
        }
        let document = try ReportDocument.object(bytes)
        let hosts = document["hosts"] as? [String: Any] ?? [:]
        print("\(ReportDocument.value(document["from"])): \(ReportDocument.value(hosts["from"])) hosts (\(ReportDocument.value(hosts["fresh_from"])) fresh); "
              + "\(ReportDocument.value(document["to"])): \(ReportDocument.value(hosts["to"])) hosts (\(ReportDocument.value(hosts["fresh_to"])) fresh)")
        var rows = [["hosts", "count", "hostnames"]]
        let presence = document["presence"] as? [String: Any] ?? [:]
        for kind in PresenceChange.allCases {
            let list = presence[kind.rawValue] as? [String: Any] ?? [:]
            rows.append([kind.rawValue, ReportDocument.value(list["hosts"]), Self.names(list)])
        }
        print(TextTable.render(rows), terminator: "")
        let changes = document["changes"] as? [[String: Any]] ?? []
        guard !changes.isEmpty else {
            print("no fact changed on hosts present at both times")
            return
        }
        print("")
        var table = [["layer", "change", "fact", "before", "after", "hosts", "hostnames"]]
        for change in changes {
            table.append(["layer", "change", "fact", "before", "after", "hosts"].map { ReportDocument.value(change[$0]) } + [Self.names(change)])
        }
        print(TextTable.render(table), terminator: "")
    }

    /// A list's hostnames, `,…` when more follow.
    static func names(_ list: [String: Any]) -> String {
        (list["hostnames"] as? [String] ?? []).joined(separator: ",") + (list["next_hosts_after"] is String ? ",…" : "")
    }
}
