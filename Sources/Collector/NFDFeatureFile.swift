import Decoders
import Foundation
import Report
import Timestamps

/// The host's facts as a Node Feature Discovery feature file (NFD's "local" source), so that NFD labels
/// the Kubernetes node with what this collector found: one `feature.node.kubernetes.io/capreg-NAME=VALUE`
/// line for each cross-vendor fact (`CrossVendor.vocabulary`: vendor, address and PASID widths, nesting,
/// PASID binding, first-level format and dirty tracking, what a VM can get and what the hardware has;
/// the register fields stay in the registry, or a node would carry a hundred labels), after a
/// `# +expiry-time=` directive (the collection time plus `expiry`) past which NFD drops the labels. A
/// collector that stops collecting therefore stops vouching for its node, as the registry calls a host stale.
///
/// NFD's rules (v0.19, source/local and pkg/apis/nfd/validate): keys are Kubernetes qualified names with
/// a prefix, and the kubernetes.io namespaces are refused except feature.node.kubernetes.io, which this
/// file uses; values are Kubernetes label values; files of more than 64 KiB are ignored whole; files whose
/// name starts with a dot are ignored, so the file is written as a dot file and renamed into place.
/// A fact whose name or value a label cannot carry (a negative number, a list of windows, a text past 63
/// characters) is left out and counted, never altered into something it did not say.
public struct NFDFeatureFile: Sendable {
    public static let namespace = "feature.node.kubernetes.io"
    public static let namePrefix = "capreg-"
    /// NFD ignores a larger file.
    public static let maxBytes = 64 * 1024
    public static let fileName = "capreg"
    /// The facts that become labels: the cross-vendor facts but their `evidence.*` texts, which explain a
    /// value in words (the registry keeps them) and are no label values.
    public static let factNames = Set(CrossVendor.vocabulary.map(\.name).filter { !$0.hasPrefix("evidence.") })

    /// How long NFD keeps the labels after a collection, by default: the registry's default freshness
    /// bound (`serve --stale-after 2h`). Shorter than a minute is refused (config and command line).
    public static let defaultExpiry: TimeInterval = 7200
    public static let minimumExpiry: TimeInterval = 60

    public var directory: String
    /// How long NFD keeps the labels after a collection.
    public var expiry: TimeInterval

    public init(directory: String, expiry: TimeInterval) {
        self.directory = directory
        self.expiry = expiry
    }

    public struct Contents: Equatable, Sendable {
        public var text: String
        public var labels: Int
        /// Facts no label can carry, by name.
        public var omitted: [String]
    }

    /// The file for `facts` (sorted by name) collected at `collectedAt`; facts other than `factNames` are skipped.
    public func contents(_ facts: [Fact], collectedAt: Date) -> Contents {
        var text = "# capreg collector: this host's IOMMU facts (capreg vocabulary), rewritten every collection\n"
        text += "# +expiry-time=" + RFC3339.format(collectedAt.addingTimeInterval(expiry)) + "\n"
        var labels = 0
        var omitted: [String] = []
        for fact in facts where NFDFeatureFile.factNames.contains(fact.name) {
            let name = NFDFeatureFile.namePrefix + fact.name
            guard Report.isLabelName(name), let value = NFDFeatureFile.labelValue(fact.value) else {
                omitted.append(fact.name)
                continue
            }
            // At most one line for each of `factNames`, each name and value at most 63 bytes: far below
            // maxBytes (NFDFeatureFileTests.theLargestFileFitsNFDsBound).
            text += NFDFeatureFile.namespace + "/" + name + "=" + value + "\n"
            labels += 1
        }
        return Contents(text: text, labels: labels, omitted: omitted)
    }

    /// Writes the file for `report` (decoded here with the registry's own decoders) into `directory`:
    /// a dot file first, synced, then renamed over the last one, so NFD never reads half a file.
    @discardableResult
    public func write(_ report: Report) throws -> Contents {
        let records: [CapabilityRecord]
        do {
            records = try SourceDecoder.records(of: report, kernel: KernelRelease(report.kernel.release))
        } catch {
            // The registry would refuse this report: no labels from it either (the last file expires).
            throw notWritten("\(error)")
        }
        let facts = HostFacts.of(records, kernel: report.kernel.release, collectorVersion: report.collectorVersion)
        let contents = contents(facts, collectedAt: report.collectedAt)
        // Readable by all: nfd-worker reads it, and it holds nothing the node's labels will not show.
        do {
            try Spool.replaceDurably(directory: directory, name: NFDFeatureFile.fileName, bytes: Array(contents.text.utf8), mode: 0o644)
        } catch {
            guard case .io(let what, let e) = error else { throw error }
            throw notWritten("\(what): \(e.name)")
        }
        return contents
    }

    private func notWritten(_ why: String) -> Failure { Failure(description: "NFD feature file in \(directory) not written: \(why)") }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A Kubernetes label value: empty, or of a label name's form (`Report.isLabelName`).
    public static func isLabelValue(_ s: String) -> Bool { s.isEmpty || Report.isLabelName(s) }

    /// The value as a label value, or nil when a label cannot carry it.
    static func labelValue(_ value: FactValue) -> String? {
        let text: String
        switch value {
        case .bool(let b): text = b ? "true" : "false"
        case .int(let i): text = String(i)
        case .text(let t): text = t
        }
        return isLabelValue(text) ? text : nil
    }
}
