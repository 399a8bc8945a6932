import Decoders
import Foundation
import Report

/// A report decoded with today's decoders, before any database work (decoding stays outside the write
/// transaction so that transactions stay short).
struct PreparedReport: Sendable {
    var report: Report
    var kernel: KernelRelease
    var records: [CapabilityRecord]
    /// The records as capability versions (decoded JSON written here, outside the write transaction).
    var capabilities: [CapabilityValue]
    /// Host-level facts (HostFacts.of: every record combined, plus the usable half), sorted by name.
    var facts: [Fact]
    /// Each PCI device's facts (HostDevices.of), for the current projection.
    var devices: [DeviceFacts]
    var contentHash: String
    var payload: String
    var sourceKinds: String
    /// The labels as `hosts.label_print` and `label_sets.print` hold them (LabelPrint.of).
    var labelPrint: String

    init(_ report: Report) throws(ReportError) {
        // The one check again, without the clock (that bound is the arrival's, applied where reports are
        // decoded): SQLite text binding ends a string at NUL, so a report that skipped the decoder must not
        // reach it either, or two identities would alias.
        do { try report.check(clock: nil) } catch { throw ReportError.refused(error) }
        let kernel = KernelRelease(report.kernel.release)
        self.init(report: report, kernel: kernel, records: try SourceDecoder.records(of: report, kernel: kernel))
    }

    init(report: Report, kernel: KernelRelease, records: [CapabilityRecord]) {
        self.report = report
        self.kernel = kernel
        self.records = records
        self.capabilities = records.map { CapabilityValue($0, kernel: report.kernel.release) }
        self.facts = HostFacts.of(records, kernel: report.kernel.release, collectorVersion: report.collectorVersion)
        self.devices = HostDevices.of(records)
        self.contentHash = PreparedReport.contentHash(kernel: report.kernel.release, facts: facts, records: records)
        self.payload = report.payloadJSON()
        self.sourceKinds = Set(report.sources.map(\.kind.rawValue)).sorted().joined(separator: ",")
        self.labelPrint = LabelPrint.of(report.host.labels)
    }

    /// What makes two reports "the same content": kernel, host facts and every capability's raw bytes.
    /// Report id, times, collector version and labels are left out on purpose.
    static func contentHash(kernel: String, facts: [Fact], records: [CapabilityRecord]) -> String {
        // The same byte sequence as hashing each piece in turn, gathered first: one bulk update.
        var m: [UInt8] = []
        m.reserveCapacity(2048)
        func add(_ s: String) { m.append(contentsOf: s.utf8); m.append(0) }
        add("kernel")
        add(kernel)
        for fact in facts {
            add("fact")
            add(fact.name)
            add(fact.value.type.rawValue)
            add(fact.value.description)
        }
        for record in records.sorted(by: { ($0.unit, $0.capability) < ($1.unit, $1.capability) }) {
            add("cap")
            add(record.unit)
            add(record.capability)
            add(String(record.version))
            add(String(record.raw.count))
            m.append(contentsOf: record.raw)
        }
        var h = SHA256()
        h.update(m)
        return h.finalize()
    }
}

/// A capability version as the splice compares it: identity is (capability version, kernel release, raw
/// bytes); decoded values and decoder version ride along (redecode refreshes them in place).
struct CapabilityValue: Equatable {
    var unit: String
    var capability: String
    var version: Int
    var kernel: String
    var raw: [UInt8]
    var decoded: String
    var decoderVersion: Int

    static func == (a: CapabilityValue, b: CapabilityValue) -> Bool {
        a.version == b.version && a.kernel == b.kernel && a.raw == b.raw
    }

    init(unit: String, capability: String, version: Int, kernel: String, raw: [UInt8], decoded: String, decoderVersion: Int) {
        self.unit = unit
        self.capability = capability
        self.version = version
        self.kernel = kernel
        self.raw = raw
        self.decoded = decoded
        self.decoderVersion = decoderVersion
    }

    init(_ record: CapabilityRecord, kernel: String) {
        self.init(unit: record.unit, capability: record.capability, version: record.version, kernel: kernel, raw: record.raw,
                  decoded: DecodedJSON.of(record), decoderVersion: SourceDecoder.decoderVersion)
    }

}
