import ArgumentParser
import Collector
import Foundation
import RegistryClient
import Report
import Timestamps

struct ImportDmesgCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-dmesg",
        abstract: "Turn archived boot logs into reports dated at their boots (history before the collector).",
        discussion: """
        Reads FILE (dmesg with or without [seconds] stamps, or journalctl --output short-iso, several \
        boots allowed) and makes one report per boot from its `DMAR: dmarN: reg_base_addr … cap … ecap …` \
        and `AMD-Vi: Extended features (…)` lines. Plain dmesg has no wall-clock time: give --boot-time. \
        Report ids are derived from the content, so importing a log twice stores it once.

        Prints the reports as JSON Lines (for `capreg ingest -`), or pushes them with --push.

        Exit status: 0 done; 65 a line does not parse (file:line is printed); 66 FILE cannot be read; \
        75 with --push, reports are still waiting in the spool.
        """
    )

    @Argument(help: "Boot log file.")
    var file: String

    @Option(help: "Hostname the log belongs to (not localhost or another name many machines share).")
    var host: String

    @Option(name: .customLong("machine-id"), help: "That host's /etc/machine-id, if known.")
    var machineID: String?

    @Option(name: .customLong("boot-time"), help: "When the (single) boot in a plain dmesg started, RFC 3339 (or a date: midnight UTC).")
    var bootTime: String?

    @Option(help: "Kernel release, when the log has no `Linux version` line.")
    var kernel: String?

    @Option(help: "Registry URL to push to instead of printing.")
    var push: String?

    @Option(help: "Bearer token for the registry.")
    var token: String?

    @OptionGroup var tls: TLSClientOptions

    @Option(help: "Spool directory for --push (default: a temporary directory, removed when empty).")
    var spool: String?

    func validate() throws {
        if let problem = Report.hostnameProblem(host) { throw ValidationError("--host: \(problem)") }
        if let bootTime {
            do { _ = try RFC3339.parse(bootTime, allowingDate: true) } catch { throw ValidationError("--boot-time \(bootTime): \(error)") }
        }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            printError("capreg import-dmesg: cannot read \(file)")
            throw ExitCode(66)
        }
        let boot = try bootTime.map { try RFC3339.parse($0, allowingDate: true) }
        let reports: [Report]
        do {
            reports = try DmesgImport.reports(String(decoding: data, as: UTF8.self), file: file, host: host, machineID: machineID,
                                              bootTime: boot, kernel: kernel)
        } catch {
            printError("capreg import-dmesg: \(error)")
            throw ExitCode(65)
        }
        if reports.isEmpty { printError("capreg import-dmesg: \(file): no DMAR or AMD-Vi register lines found") }
        guard let push else {
            for r in reports { print(String(decoding: try Report.encoder.encode(r), as: UTF8.self)) }
            return
        }
        let dir = spool ?? NSTemporaryDirectory() + "capreg-import-\(UUID().uuidString)"
        let store = try Spool(directory: dir, maxBytes: Int.max / 2)
        for r in reports { try store.add(r) }
        let log: @Sendable (String) -> Void = { printError("capreg import-dmesg: \($0)") }
        let outcome = Delivery(spool: store, client: try APIClient(baseURL: push, token: token, tls: tls.resolved()), log: log).drain(maxFailures: 4)
        print("\(reports.count) boots: \(outcome.delivered) delivered, \(outcome.rejected) rejected, \(outcome.remaining) waiting in \(dir)")
        if outcome.remaining > 0 || outcome.rejected > 0 { throw ExitCode(75) }
        if spool == nil { try? FileManager.default.removeItem(atPath: dir) }
    }
}
