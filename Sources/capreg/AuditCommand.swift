import API
import ArgumentParser
import Foundation
import Store
import Timestamps

/// `capreg audit`: history turned into answers (docs/audits.md). Without a subcommand, `audit host`.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audits of the registry's history: one host's record, what kernel upgrades changed, what an upgrade would change.",
        subcommands: [AuditHostCommand.self, AuditKernelUpgradeCommand.self, AuditPredictCommand.self],
        defaultSubcommand: AuditHostCommand.self
    )
}

/// `capreg audit [host] --host H`: who wrote what to one host's record, what was refused, retracted, and
/// done to its credentials, as one timeline.
struct AuditHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "One host's record as a timeline: its writes (who, from where), refused writes, retractions and credential events.",
        discussion: """
        Reads the registry database (--db); safe while capreg serve runs on it. Lists, oldest first: every \
        report stored for the host (write: its report id, collected time, outcome and revision, written by \
        the credential, token or CLI user that stored it, from the peer address the server saw; unknown for \
        reports stored before writers were recorded); every write refused because it claimed the host \
        (refused: its name or machine-id) while the credential was bound to another, and every write its own \
        credentials or client certificate attempted for another host; every retraction of its reports; and \
        every event (issue, rotate, revoke, enroll, …) of the collector credentials and enrollment codes bound to it. \
        A write is placed at the time it was received, the others at the time they were recorded.

        Refused writes are recorded at most \(Registry.maxRefusalsPerMinute) a minute per identity; \
        the rest are counted in /metrics only (capreg_reports_refused_total).

        --since keeps events at or after a time (RFC 3339, a date, or a duration ago such as 24h or 7d); \
        --limit keeps the newest N of those, and says how many older ones it left out.

        Exit status: 0 listed; 64 usage; 65 no such host (no report, refused write or credential names \
        it); 66 no database at --db.
        """
    )

    @Option(help: ArgumentHelp("The host's name, as its reports carry it (host.hostname).", valueName: "hostname"))
    var host: String

    @Option(help: ArgumentHelp("Only events at or after this time: RFC 3339, a date (midnight UTC), or a duration ago (24h, 7d).",
                               valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("At most this many events: the newest.", valueName: "n"))
    var limit = 1000

    @Flag(help: "Print one JSON document: {\"hostname\", \"since\", \"omitted\", \"events\": [...]}.")
    var json = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if host.isEmpty { throw ValidationError("--host must not be empty") }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        _ = try sinceDate(now: Date())
    }

    /// --since as a time: RFC 3339 or a date, else a duration back from `now`.
    func sinceDate(now: Date) throws -> Date? {
        try since.map { try TimeArgument.parse($0, option: "--since", now: now) }
    }

    func run() throws {
        // An audit reads an existing registry: a mistyped --db must not create an empty one.
        guard try store.location.exists else {
            printError("capreg audit: no registry database at \(store.db) (give --db)")
            throw ExitCode(66)
        }
        let from = try sinceDate(now: Date())
        guard let audit = try store.open().audit(hostname: host, since: from, limit: limit) else {
            printError("capreg audit: no host named \(host) in \(store.db): no report, refused write or credential names it")
            throw ExitCode(65)
        }
        if json {
            print(QueryOutput.text(AuditOutput.document(audit, since: from)), terminator: "")
            return
        }
        for line in AuditOutput.lines(audit.events) { print(line) }
        if audit.omitted > 0 {
            printError("capreg audit: \(audit.omitted) older events left out (--limit \(limit)); give --since or a larger --limit")
        }
    }
}
