import ArgumentParser
import Foundation
import Store
import Timestamps

struct RetractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retract",
        abstract: "Withdraw stored reports (a collected_at in year 9999, say): their hosts' history is recomputed without them.",
        discussion: """
        An admin's act on the registry database; safe while capreg serve runs on it (SQLite takes one \
        writer at a time; this waits up to 5 s for the lock). Each report stays stored, payload and all; a \
        retraction row records its id, the reason, the time and the registry revision it made. The host's \
        history and current state become what they would be had the report never arrived: the report \
        before it holds its span, and when it was the newest that report becomes the current one, so the \
        host's next report is newest again. Each retraction is one new revision: answers at earlier \
        revisions (--as-of-revision, as_of_revision) still count the report. The report is listed with \
        its reason in GET /v1/hosts/{host}/history; sent again, it is answered as a duplicate that stays \
        retracted.

        A host keeps at least one report: its only report that still counts cannot be retracted (retract \
        it after the host's next report has arrived). Retracting a report already retracted writes nothing \
        and says when it was.

        Each REPORT_ID is retracted in its own transaction, in the order given. --reason is required (at \
        most \(Registry.maxRetractionReason) characters).

        Exit status: 0 every report is retracted (now or before); 65 a report id is not stored, is its \
        host's only report, or the report before it cannot be read (the others are still retracted); \
        66 no database at --db; 64 usage (no or empty --reason).
        """
    )

    @Argument(help: ArgumentHelp("The report's report_id, as the collector sent it.", valueName: "report-id"))
    var reportIds: [String]

    @Option(help: "Why the reports are withdrawn (recorded with each retraction).")
    var reason: String

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if reportIds.isEmpty { throw ValidationError("give at least one report id") }
        if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--reason must not be empty: say why") }
        if reason.count > Registry.maxRetractionReason {
            throw ValidationError("--reason is \(reason.count) characters; at most \(Registry.maxRetractionReason)")
        }
    }

    func run() throws {
        // An admin names reports in an existing registry: a mistyped --db must not create an empty one.
        guard try store.location.exists else {
            printError("capreg retract: no registry database at \(store.db) (give --db)")
            throw ExitCode(66)
        }
        let registry = try store.open()
        var failed = false
        for id in reportIds {
            do {
                switch try registry.retract(reportId: id, reason: reason) {
                case .retracted(let r):
                    print("retracted \(r.reportId) of host \(r.hostname) (collected at \(RFC3339.format(r.collectedAt))): revision \(r.revision)")
                case .alreadyRetracted(let r):
                    print("\(r.reportId) was already retracted at \(RFC3339.format(r.retractedAt)) (revision \(r.revision): \(r.reason)); nothing written")
                }
            } catch let error as RetractError {
                printError("capreg retract: \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(65) }
    }
}
