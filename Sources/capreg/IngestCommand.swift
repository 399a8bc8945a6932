import ArgumentParser
import Foundation
import Report
import Store

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Store collector reports in the registry.",
        discussion: """
        INPUT is a file, a directory (its .json, .jsonl and .ndjson files, in name order) or - for \
        standard input. A file holds one report object, an array of them, or JSON Lines (one report per \
        line). From standard input, JSON Lines are ingested as they arrive, --batch reports per transaction.

        A report is acknowledged (--ack prints `ack REPORT_ID OUTCOME` on standard output) only after the \
        transaction holding it committed. Sending a report id again changes nothing and answers with the \
        original outcome.

        Exit status: 0 when every report was stored (or was already), 1 when some input did not parse \
        (file:line is printed), was refused (file:line: field: problem, e.g. a collected_at further ahead \
        of this machine's clock than --max-clock-skew) or some report could not be decoded.
        """
    )

    @Argument(help: "File, directory, or - for standard input.")
    var input: String

    @OptionGroup var store: StoreOptions

    @OptionGroup var clock: ClockSkewOption

    @Option(help: "Reports per transaction.")
    var batch = 500

    @Flag(help: "Print `ack REPORT_ID OUTCOME` on standard output as each report's transaction commits.")
    var ack = false

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        let registry = try store.open()
        // Recorded with each report: who stored it (`cli:ingest:USER`); the CLI has no peer address.
        let writer = try CLIWriter.of("ingest")
        var tally = IngestTally()
        if input == "-" {
            try ingestStandardInput(registry, writer, &tally)
        } else {
            var reports: [ReportReader.Located] = []
            for file in try inputFiles() {
                guard let data = FileManager.default.contents(atPath: file) else {
                    tally.failures.append("\(file): cannot read")
                    continue
                }
                for parsed in ReportReader.parse(String(decoding: data, as: UTF8.self), name: file, maxClockSkew: clock.duration.timeInterval) {
                    switch parsed {
                    case .success(let r): reports.append(r)
                    case .failure(let f): tally.failures.append(f.description)
                    }
                }
            }
            var progress = ProgressBar(total: reports.count, unit: "reports")
            var start = 0
            while start < reports.count {
                let slice = Array(reports[start..<min(start + batch, reports.count)])
                try commit(registry, writer, slice, &tally)
                start += slice.count
                progress.update(start)
            }
            progress.finish()
        }
        try? registry.close()
        print(tally.summary)
        for failure in tally.failures.prefix(20) { printError(failure) }
        if tally.failures.count > 20 { printError("… and \(tally.failures.count - 20) more") }
        if !tally.failures.isEmpty { throw ExitCode(1) }
    }

    func commit(_ registry: Registry, _ writer: Writer, _ reports: [ReportReader.Located], _ tally: inout IngestTally) throws {
        let results = try registry.ingest(reports.map(\.report), receivedAt: Date(), writer: writer)
        var acks = ""
        for (located, result) in zip(reports, results) {
            tally.count(result)
            if let error = result.error { tally.failures.append("\(located.location): report \(result.reportId): \(error)") }
            if ack && result.outcome != .rejected { acks += "ack \(result.reportId) \(result.outcome.rawValue)\n" }
        }
        // Written unbuffered, so an ack is out as soon as its commit is.
        if !acks.isEmpty { FileHandle.standardOutput.write(Data(acks.utf8)) }
    }

    /// JSON Lines are ingested as they arrive; anything else (one pretty-printed object, an array) is
    /// read whole first.
    func ingestStandardInput(_ registry: Registry, _ writer: Writer, _ tally: inout IngestTally) throws {
        var progress = ProgressBar(total: nil, unit: "reports")
        var pending: [ReportReader.Located] = []
        var lineNumber = 0
        var done = 0
        var firstLine = true
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            if line.allSatisfy({ $0.isWhitespace }) { continue }
            if firstLine {
                firstLine = false
                if line.first == "[" || (try? JSONSerialization.jsonObject(with: Data(line.utf8))) == nil {
                    // Not one report per line: read the rest and parse the whole text.
                    var text = String(repeating: "\n", count: lineNumber - 1) + line + "\n"
                    while let more = readLine(strippingNewline: false) { text += more }
                    for parsed in ReportReader.parse(text, name: "stdin", maxClockSkew: clock.duration.timeInterval) {
                        switch parsed {
                        case .success(let r): pending.append(r)
                        case .failure(let f): tally.failures.append(f.description)
                        }
                    }
                    break
                }
            }
            switch ReportReader.decode(Substring(line), location: "stdin:\(lineNumber)", maxClockSkew: clock.duration.timeInterval) {
            case .success(let r): pending.append(r)
            case .failure(let f): tally.failures.append(f.description)
            }
            if pending.count >= batch {
                try commit(registry, writer, pending, &tally)
                done += pending.count
                pending.removeAll()
                progress.update(done)
            }
        }
        while !pending.isEmpty {
            let slice = Array(pending.prefix(batch))
            try commit(registry, writer, slice, &tally)
            pending.removeFirst(slice.count)
            done += slice.count
            progress.update(done)
        }
        progress.finish()
    }

    func inputFiles() throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
            throw ValidationError("\(input): no such file or directory")
        }
        guard isDirectory.boolValue else { return [input] }
        let names = try FileManager.default.subpathsOfDirectory(atPath: input)
        return names.filter { ["json", "jsonl", "ndjson"].contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted().map { (input as NSString).appendingPathComponent($0) }
    }
}

/// Counts per outcome, and what could not be stored.
struct IngestTally {
    var outcomes: [IngestOutcome: Int] = [:]
    var duplicates = 0
    var failures: [String] = []
    /// The revisions this run's stored reports took (duplicates keep their first arrival's).
    var revisions: ClosedRange<Int64>?
    let start = Date()

    mutating func count(_ result: IngestResult) {
        if result.duplicate { duplicates += 1 } else { outcomes[result.outcome, default: 0] += 1 }
        if !result.duplicate, let r = result.revision { revisions = min(revisions?.lowerBound ?? r, r)...max(revisions?.upperBound ?? r, r) }
    }

    var summary: String {
        let stored = outcomes.filter { $0.key != .rejected }.values.reduce(0, +)
        let seconds = Date().timeIntervalSince(start)
        let parts: [IngestOutcome] = [.created, .changed, .unchanged, .history]
        let counts = parts.map { "\($0.rawValue) \(outcomes[$0] ?? 0)" }.joined(separator: ", ")
        return "ingested \(stored) reports (\(counts)), \(duplicates) already stored, \(outcomes[.rejected] ?? 0) rejected, "
            + "\(failures.count) errors in \(String(format: "%.1f", seconds)) s"
            + (revisions.map { ", revisions \($0.lowerBound)–\($0.upperBound)" } ?? "")
    }
}
