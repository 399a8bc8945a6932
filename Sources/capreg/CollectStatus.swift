import ArgumentParser
import Collector
import Foundation
import Timestamps

/// `capreg collect --status`: the spool as a person reads it, with `collect`'s exit statuses.
extension CollectCommand {
    func showStatus(_ file: CollectorConfig) throws {
        let directory = spool ?? file.spool ?? "/var/spool/capreg"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            printError("capreg collect: no spool directory at \(directory) (give --spool DIR or the config's spool)")
            throw ExitCode(66)
        }
        let status: SpoolStatus
        do { status = SpoolStatus(try Spool(directory: directory)) } catch {
            printError("capreg collect: \(error)")
            throw ExitCode(66)
        }
        print(Self.statusText(status, directory: directory), terminator: "")
        if !status.rejected.isEmpty { throw ExitCode(Agent.Status.rejected.rawValue) }
        if !status.waiting.isEmpty { throw ExitCode(Agent.Status.pending.rawValue) }
    }

    static func statusText(_ s: SpoolStatus, directory: String) -> String {
        func reports(_ n: Int) -> String { n == 1 ? "1 report" : "\(n) reports" }
        var out = "spool \(directory): \(reports(s.waiting.count)) waiting (\(s.waitingBytes) bytes), \(reports(s.rejected.count)) rejected\n"
        out += "since the spool was made: \(s.totals.delivered) delivered, \(s.totals.rejected) rejected; last delivery "
            + (s.totals.lastDelivery.map { RFC3339.format(Date(timeIntervalSince1970: $0)) } ?? "never") + "\n"
        for entry in s.waiting { out += "waiting  \(entry.name)  \(entry.size) bytes\n" }
        for r in s.rejected {
            let why = r.refusal.map { "\($0.rejectedAt)  \($0.status): " + $0.message.split(whereSeparator: \.isNewline).joined(separator: " ") } ?? "(no reason recorded)"
            out += "rejected  \(r.name)  \(why)\n"
        }
        if !s.rejected.isEmpty {
            out += "rejected reports are never sent again; they stay in \(directory)/rejected/ until removed (with their .why files)\n"
        }
        return out
    }
}
