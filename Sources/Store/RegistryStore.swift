import Decoders
import Foundation
import Report

/// What the rest of capreg (API, CLI) may ask of the registry's memory. Registry implements it;
/// a PostgreSQL backend can implement the same surface.
public protocol RegistryStore: Sendable {
    /// Stores reports, recording `writer` with each (nil: unknown); each result is returned only after the
    /// transaction holding that report committed.
    func ingest(_ reports: [Report], receivedAt: Date, writer: Writer?) throws -> [IngestResult]
    /// The host's current state, or nil for an unknown host.
    func currentState(hostname: String) throws -> HostState?
    /// Every host with its current state, ordered by hostname.
    func hosts() throws -> [HostState]
    /// Facts as they were at `time`: one host, or the whole fleet when `hostname` is nil.
    func factsAsOf(_ time: Date, hostname: String?) throws -> [HostSnapshot]
    /// Net fact changes per host between two times (state at `from` against state at `to`).
    func changes(from: Date, to: Date) throws -> [HostChange]
    /// The host's versions, oldest first, with their time spans and kernel.
    func history(hostname: String) throws -> [HostVersion]
    /// One bounded page of `history`, after `cursor` (nil: from the first), stamped with the revision it
    /// was read at (one transaction); nil for an unknown host.
    func historyPage(hostname: String, after cursor: HistoryCursor?, limit: Int) throws -> HistoryPage?
}

public enum IngestOutcome: String, Sendable, Codable {
    /// The host's first report.
    case created
    /// Newest report of the host, with content different from the current state.
    case changed
    /// Content equal to the state it lands on: only last-seen moved.
    case unchanged
    /// Older than the host's newest report and different from the state at its time: history was amended,
    /// current state untouched.
    case history
    /// Not stored (undecodable sources); `error` says why.
    case rejected
}

public struct IngestResult: Sendable, Hashable {
    public var reportId: String
    public var hostname: String
    public var outcome: IngestOutcome
    /// True when the report id had been stored before: nothing was written, the original outcome is returned.
    public var duplicate: Bool
    public var factsOpened: Int
    public var factsClosed: Int
    public var error: String?
    /// The revision that stored the report (its first arrival's, for a duplicate); nil when rejected.
    public var revision: Int64?
    /// True for a duplicate of a report an admin retracted (`capreg retract`): it does not count.
    public var retracted = false
    /// True for an unchanged report kept as a heartbeat (migrations/sqlite/0012): its time only, no
    /// revision (`revision` is the registry's revision it confirmed), its report_id not kept.
    public var heartbeat = false

    public init(reportId: String, hostname: String, outcome: IngestOutcome, duplicate: Bool = false,
                factsOpened: Int = 0, factsClosed: Int = 0, error: String? = nil, revision: Int64? = nil) {
        self.reportId = reportId
        self.hostname = hostname
        self.outcome = outcome
        self.duplicate = duplicate
        self.factsOpened = factsOpened
        self.factsClosed = factsClosed
        self.error = error
        self.revision = revision
    }
}

public struct HostState: Sendable, Hashable {
    public var hostname: String
    public var machineId: String?
    public var labels: [String: String]
    public var firstSeen: Date
    public var lastSeen: Date
    public var kernelRelease: String?
    /// Current facts, sorted by name.
    public var facts: [Fact]
}

public struct HostSnapshot: Sendable, Hashable {
    public var hostname: String
    /// Kernel of the report in force at that time.
    public var kernelRelease: String?
    public var facts: [Fact]
}

public struct FactChange: Sendable, Hashable {
    public var name: String
    /// nil: the fact was absent (gained) …
    public var before: FactValue?
    /// … or became absent (lost).
    public var after: FactValue?

    public init(name: String, before: FactValue?, after: FactValue?) {
        self.name = name
        self.before = before
        self.after = after
    }
}

public struct HostChange: Sendable, Hashable {
    public var hostname: String
    public var kernelBefore: String?
    public var kernelAfter: String?
    public var changes: [FactChange]
    /// PCI devices (addresses) gained, lost or changed (the change stream's events; empty elsewhere).
    public var devices: [String]

    public init(hostname: String, kernelBefore: String?, kernelAfter: String?, changes: [FactChange], devices: [String] = []) {
        self.hostname = hostname
        self.kernelBefore = kernelBefore
        self.kernelAfter = kernelAfter
        self.changes = changes
        self.devices = devices
    }
}

public struct HostVersion: Sendable, Hashable {
    public var validFrom: Date
    /// nil while current.
    public var validTo: Date?
    public var kernelRelease: String?
    public var facts: [Fact]
    /// The report the version comes from (the one in force at its start) and who wrote it.
    public var source: ReportSource? = nil
}
