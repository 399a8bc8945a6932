import API
import ArgumentParser
import Decoders
import Foundation
import Query
import Store

/// Options the history reports share (`audit kernel-upgrade`, `audit predict`, `diff`): which layers, how
/// many hostnames, JSON or a table.
struct AuditListOptions: ParsableArguments {
    @Option(name: .customLong("layer"), help: ArgumentHelp("Only changes of this layer (repeatable): usable, hardware, kernel, evidence.", valueName: "layer"))
    var layers: [String] = []

    @Option(help: ArgumentHelp("Hostnames listed per row, in byte order (0…\(KernelUpgradeRequest.maxHostLimit)); counts are always whole.", valueName: "n"))
    var hostLimit = 10

    @Option(help: ArgumentHelp("List hostnames after this one: the next page of a row's hosts.", valueName: "hostname"))
    var hostsAfter: String?

    @Flag(help: "Print the JSON document (the endpoint's) instead of a table.")
    var json = false

    func validate() throws {
        _ = try layerSet()
        guard (0...KernelUpgradeRequest.maxHostLimit).contains(hostLimit) else {
            throw ValidationError("--host-limit must be within 0…\(KernelUpgradeRequest.maxHostLimit)")
        }
        if let hostsAfter, hostsAfter.isEmpty || hostsAfter.utf8.count > 255 { throw ValidationError("--hosts-after must be a hostname of 1 to 255 bytes") }
    }

    static func kernel(_ text: String?, _ option: String) throws -> KernelVersion? {
        guard let text else { return nil }
        switch KernelVersion.parse(text) {
        case .success(let version): return version
        case .failure(let error): throw ValidationError("\(option) \(text.prefix(40)): expected \(error.message)")
        }
    }

    func layerSet() throws -> Set<FactLayer>? {
        guard !layers.isEmpty else { return nil }
        return Set(try layers.map { name in
            guard let layer = FactLayer(rawValue: name) else {
                throw ValidationError("--layer \(name.prefix(40)): one of \(FactLayer.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return layer
        })
    }
}

struct AuditKernelUpgradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel-upgrade",
        abstract: "What kernel moves changed: per pair of kernels, the capabilities gained, lost or changed, on how many hosts, and whose doing.",
        discussion: """
        A move is a host's report on another kernel than its report before it (retracted reports left \
        out). For each pair of kernels hosts moved between (all pairs seen, or those --from and --to match), \
        lists each fact whose value the move changed: lost (true, a positive number or a format before; \
        false, 0, none or absent after), gained (the reverse) or changed, with the hosts that changed so and \
        the first --host-limit of their names. The cause is the kernel's when the host's registers read the \
        same before and after, the hardware's when a register fact changed, unknown when registers were \
        not reported on both sides. Kernel versions compare as versions; releases of one series are one \
        kernel unless --flavours apart. Evidence (evidence.*) is left out unless --layer evidence.

        Reads --db, or a running registry with --server (GET /v1/audits/kernel-upgrades).

        Exit status: 0 listed (also when no host moved); 64 usage; 66 no database at --db; 69 the registry \
        unreachable; 77 a token refused.
        """
    )

    @Option(help: ArgumentHelp("Only moves from this kernel: a series (6.6: every 6.6.x) or one release (6.6.0-1-generic).", valueName: "version"))
    var from: String?

    @Option(help: ArgumentHelp("Only moves to this kernel (as --from).", valueName: "version"))
    var to: String?

    @Option(help: ArgumentHelp("grouped: a series is one kernel (6.6); apart: each release is its own.", valueName: "grouped|apart"))
    var flavours = "grouped"

    @Option(help: ArgumentHelp("Only this fact's changes.", valueName: "name"))
    var fact: String?

    @OptionGroup var list: AuditListOptions

    @OptionGroup var source: ReportSourceOptions

    func validate() throws {
        _ = try AuditListOptions.kernel(from, "--from")
        _ = try AuditListOptions.kernel(to, "--to")
        guard flavours == "grouped" || flavours == "apart" else { throw ValidationError("--flavours must be grouped or apart") }
        if let fact, Vocabulary.entry(fact) == nil { throw ValidationError("--fact \(fact.prefix(80)): not a host fact of the vocabulary (capreg vocabulary)") }
    }

    func run() throws {
        var request = KernelUpgradeRequest(from: try AuditListOptions.kernel(from, "--from"), to: try AuditListOptions.kernel(to, "--to"))
        request.flavoursApart = flavours == "apart"
        if let layers = try list.layerSet() { request.layers = layers }
        request.fact = fact
        request.hostLimit = list.hostLimit
        request.hostsAfter = list.hostsAfter
        let bytes = try source.document("capreg audit kernel-upgrade", path: "/v1/audits/kernel-upgrades",
                                        items: KernelUpgradeParameters.items(request)) { registry in
            KernelUpgradeJSON.report(try registry.kernelUpgrades(request), request)
        }
        if list.json {
            FileHandle.standardOutput.write(Data(bytes + [0x0A]))
            return
        }
        let document = try ReportDocument.object(bytes)
        let pairs = document["pairs"] as? [[String: Any]] ?? []
        if pairs.isEmpty {
            printError("capreg audit kernel-upgrade: no host moved between kernels\(request.from != nil || request.to != nil ? " as asked" : "")")
            return
        }
        for (index, pair) in pairs.enumerated() {
            if index > 0 { print("") }
            let causes = pair["causes"] as? [String: Any] ?? [:]
            print("\(ReportDocument.value(pair["from"])) → \(ReportDocument.value(pair["to"])) (\(ReportDocument.value(pair["direction"]))): "
                  + "\(ReportDocument.value(pair["hosts"])) hosts, \(ReportDocument.value(pair["moves"])) moves; "
                  + "registers same \(ReportDocument.value(causes["kernel"])), changed \(ReportDocument.value(causes["hardware"])), "
                  + "not reported \(ReportDocument.value(causes["unknown"]))")
            let changes = pair["changes"] as? [[String: Any]] ?? []
            guard !changes.isEmpty else {
                print("  no fact changed")
                continue
            }
            var rows = [["layer", "change", "fact", "before", "after", "hosts", "kernel", "hardware", "unknown", "hostnames"]]
            for change in changes {
                let c = change["causes"] as? [String: Any] ?? [:]
                let names = (change["hostnames"] as? [String] ?? []).joined(separator: ",")
                let more = change["next_hosts_after"] is String ? ",…" : ""
                rows.append(["layer", "change", "fact", "before", "after", "hosts"].map { ReportDocument.value(change[$0]) }
                            + ["kernel", "hardware", "unknown"].map { ReportDocument.value(c[$0]) } + [names + more])
            }
            print(TextTable.render(rows).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        }
    }
}

struct AuditPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Before rolling a kernel out: the hosts not yet on it that share hardware with hosts that lost a capability moving to it.",
        discussion: """
        Finds the hosts that lost a capability (of --layer, default usable) on a move to --to, reads \
        their hardware just before the move (vendor and whole registers), and lists, per such hardware, the \
        hosts whose kernel is not --to now and whose current hardware is the same. Hosts whose registers \
        were not reported cannot be compared and are counted apart.

        Reads --db, or a running registry with --server (GET /v1/audits/kernel-upgrades/predict).

        Exit status: 0 listed; 64 usage; 66 no database at --db; 69 the registry unreachable; 77 a token refused.
        """
    )

    @Option(help: ArgumentHelp("The kernel about to be rolled out: a series (6.12) or one release.", valueName: "version"))
    var to: String

    @Option(help: ArgumentHelp("Only losses on moves from this kernel (a series or one release).", valueName: "version"))
    var from: String?

    @OptionGroup var list: AuditListOptions

    @OptionGroup var source: ReportSourceOptions

    func validate() throws {
        _ = try AuditListOptions.kernel(to, "--to")
        _ = try AuditListOptions.kernel(from, "--from")
    }

    func run() throws {
        var request = UpgradePredictionRequest(to: try AuditListOptions.kernel(to, "--to")!)
        request.from = try AuditListOptions.kernel(from, "--from")
        if let layers = try list.layerSet() { request.layers = layers }
        request.hostLimit = list.hostLimit
        request.hostsAfter = list.hostsAfter
        let bytes = try source.document("capreg audit predict", path: "/v1/audits/kernel-upgrades/predict",
                                        items: KernelUpgradeParameters.items(request)) { registry in
            KernelUpgradeJSON.prediction(try registry.predictUpgrade(request), request)
        }
        if list.json {
            FileHandle.standardOutput.write(Data(bytes + [0x0A]))
            return
        }
        let document = try ReportDocument.object(bytes)
        let losers = ReportDocument.value(document["losers"]), without = ReportDocument.value(document["losers_without_registers"])
        print("\(losers) hosts lost a capability moving to \(to) (\(without) without registers to compare); "
              + "\(ReportDocument.value(document["candidates"])) hosts not on it share their hardware")
        let classes = document["hardware"] as? [[String: Any]] ?? []
        guard !classes.isEmpty else { return }
        var rows = [["hardware", "vendor", "losers", "lost", "candidates", "hostnames"]]
        for hardware in classes {
            let names = (hardware["hostnames"] as? [String] ?? []).joined(separator: ",")
            let more = hardware["next_hosts_after"] is String ? ",…" : ""
            rows.append(["id", "vendor", "losers"].map { ReportDocument.value(hardware[$0]) }
                        + [(hardware["lost"] as? [String] ?? []).joined(separator: ","), ReportDocument.value(hardware["candidates"]), names + more])
        }
        print(TextTable.render(rows), terminator: "")
    }
}
