import ArgumentParser
import Decoders
import Foundation
import Report
import Store

struct RedecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redecode",
        abstract: "Decode every stored report again with today's decoders; open new fact versions only where the output changed.",
        discussion: """
        Reports already read by this decoder version (\(SourceDecoder.decoderVersion)) are skipped unless --all. \
        Work is committed in batches: interrupting loses only the batch in flight, and running again \
        continues where it stopped. Each batch is a registry revision of its own; answers asked at an \
        earlier revision (as_of_revision) keep the facts that revision held.
        """
    )

    @OptionGroup var store: StoreOptions

    @Flag(help: "Read every report again, even those already at today's decoder version.")
    var all = false

    func run() throws {
        let registry = try store.open()
        let backlog = try registry.redecodeBacklog(all: all)
        var progress = ProgressBar(total: backlog, unit: "reports")
        let summary = try registry.redecode(all: all) { progress.update($0) }
        progress.finish()
        try? registry.close()
        print("redecoded \(summary.reports) reports with decoder version \(SourceDecoder.decoderVersion): "
              + "\(summary.changed) changed history, \(summary.failed.count) could not be decoded"
              + (summary.revisions.map { $0.count == 1 ? ", revision \($0.lowerBound)" : ", revisions \($0.lowerBound)–\($0.upperBound)" } ?? ""))
        for failure in summary.failed.prefix(20) { printError(failure) }
        if !summary.failed.isEmpty { throw ExitCode(1) }
    }
}
