import ArgumentParser
import Foundation
import Report
import Store
import Timestamps
import Synthetic

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate a synthetic fleet's reports (JSON Lines), deterministic for a seed.",
        discussion: """
        Mixed Intel VT-d (legacy, scalable, first-stage-only, nesting-capable) and AMD hosts with VFIO \
        type1 info buffers built byte by byte, one report per host per day; kernel upgrades add and drop \
        capabilities, some hosts join late and some go stale. With --ingest the reports go straight into \
        --db as well. By default the last day ends now (its reports within the last hour, so every host \
        still reporting is fresh for the default freshness bound, 2h); --start TIME fixes day 0 instead, \
        and then the same seed gives the same bytes on every run.
        """
    )

    @Option(help: "Number of hosts.")
    var hosts: Int

    @Option(help: "Number of days (one report per host per day).")
    var days: Int

    @Option(help: "Seed: the same seed gives the same reports.")
    var seed: UInt64 = 1

    @Option(help: "Where to write JSON Lines: a file, or - for standard output. Default: - unless --ingest.")
    var out: String?

    @Option(help: ArgumentHelp("Day 0: an RFC 3339 time or a date; default `now`: the last day ends now.", valueName: "time"))
    var start = "now"

    @Flag(help: "Hosts with a current collector also report 1-8 PCI devices each (pci-device sources), for devices(…) and DRA.")
    var devices = false

    @Flag(help: "Ingest the reports into --db.")
    var ingest = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if hosts < 1 || days < 1 { throw ValidationError("--hosts and --days must be at least 1") }
        if start != "now" {
            do { _ = try RFC3339.parse(start, allowingDate: true) } catch { throw ValidationError("--start \(start): \(error), or now") }
        }
    }

    var startDate: Date? {
        if start == "now" { return Date().addingTimeInterval(-Double(days) * 86_400) }
        return QueryCommand.time(start)
    }

    func run() throws {
        var fleet = SyntheticFleet(hosts: hosts, days: days, seed: seed, start: startDate!)
        fleet.devices = devices
        let destination = out ?? (ingest ? nil : "-")
        var output: FileHandle?
        if let destination, destination != "-" {
            // Opened in place, never replaced: FileManager.createFile writes a new file and renames it over the
            // path, which turned /dev/null (as root) or a symlink into a regular file.
            let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ValidationError("--out \(destination): cannot write (\(String(cString: strerror(errno))))") }
            output = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        } else if destination == "-" {
            output = FileHandle.standardOutput
        }
        let registry = ingest ? try store.open() : nil
        let writer = ingest ? try CLIWriter.of("synth") : nil
        var pending: [Report] = []
        var buffer = Data()
        var tally = IngestTally()
        var progress = ProgressBar(total: hosts * days, unit: "host-days")
        var done = 0
        func flush() throws {
            output?.write(buffer)
            buffer.removeAll(keepingCapacity: true)
            if let registry, !pending.isEmpty {
                for result in try registry.ingest(pending, writer: writer) {
                    tally.count(result)
                    if let error = result.error { tally.failures.append("report \(result.reportId): \(error)") }
                }
                pending.removeAll(keepingCapacity: true)
            }
        }
        for day in 0..<days {
            for host in 0..<hosts {
                done += 1
                guard let report = fleet.report(host: host, day: day) else { continue }
                if output != nil {
                    buffer.append(try Report.encoder.encode(report))
                    buffer.append(0x0a)
                }
                if registry != nil { pending.append(report) }
                if buffer.count > 1 << 20 || pending.count >= 1000 { try flush() }
                progress.update(done)
            }
        }
        try flush()
        progress.finish()
        try output?.synchronize()
        if let registry {
            try? registry.close()
            printError(tally.summary)
            for failure in tally.failures.prefix(10) { printError(failure) }
            if !tally.failures.isEmpty { throw ExitCode(1) }
        }
    }
}
