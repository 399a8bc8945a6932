import Decoders
import Foundation

/// One decoded capability of one unit: the unit of versioning in the registry. `raw` holds exactly
/// the bytes the facts came from. Decoding again (redecode) starts from the report's sources, the one
/// decoding path.
public struct CapabilityRecord: Hashable, Sendable {
    /// A unit's capability as one string (a report gives each once; the registry keeps one version open).
    public static func key(unit: String, capability: String) -> String { unit + "\u{1}" + capability }

    /// `dmar0`, `vfio-group-12`, …
    public var unit: String
    /// `vtd-regs`, `amd-efr`, `vfio-info` (the fixed struct), `vfio-cap-N` (chain capability id N), `iommufd-hw-info`,
    /// `kernel-probes`.
    public var capability: String
    /// The capability's layout version (the VFIO header version; 1 elsewhere).
    public var version: Int
    public var raw: [UInt8]
    public var facts: [Fact]
    /// Ambiguities and remarks the decoders left; non-empty notes are shown beside the facts.
    public var notes: [String]

    public init(unit: String, capability: String, version: Int, raw: [UInt8], facts: [Fact], notes: [String] = []) {
        self.unit = unit
        self.capability = capability
        self.version = version
        self.raw = raw
        self.facts = facts
        self.notes = notes
    }
}

/// Turns report sources into capability records with today's decoders.
public enum SourceDecoder {
    /// Bumped whenever a decoder's output for the same bytes changes; stored with every record so
    /// `capreg redecode` knows what is stale.
    public static let decoderVersion = 3

    /// The capability name of a `probe` source's record.
    public static let kernelProbes = "kernel-probes"
    /// The capability name of a `pci-device` source's record.
    public static let pciDevice = "pci-device"

    /// Every source's records, in order; a unit's repeated capability (a malformed chain) keeps its first.
    /// The registry reads a report so (PreparedReport), and the collector's NFD feature file too.
    public static func records(of report: Report, kernel: KernelRelease) throws(ReportError) -> [CapabilityRecord] {
        var records: [CapabilityRecord] = []
        var seen = Set<String>()
        for source in report.sources {
            for record in try Self.records(source, kernel: kernel) where seen.insert(CapabilityRecord.key(unit: record.unit, capability: record.capability)).inserted {
                records.append(record)
            }
        }
        return records
    }

    /// Records of one source. Unavailable sources yield none (the report keeps their reason).
    public static func records(_ source: Report.Source, kernel: KernelRelease?) throws(ReportError) -> [CapabilityRecord] {
        guard source.status == .ok else { return [] }
        guard let raw = try source.rawBytes() else {
            throw .badSource(unit: source.unit, kind: source.kind.rawValue, message: "status ok but no raw bytes")
        }
        do {
            switch source.kind {
            case .vfio:
                // One record for the fixed struct, one per chain capability: each keeps exactly its bytes.
                let info = try VFIOInfo.decode(raw, kernel: kernel)
                let headerEnd = info.capabilities.first?.offset ?? raw.count
                var out = [CapabilityRecord(unit: source.unit, capability: "vfio-info", version: 1, raw: Array(raw[0..<headerEnd]),
                                            facts: info.headerFacts)]
                for cap in info.capabilities {
                    out.append(CapabilityRecord(unit: source.unit, capability: "vfio-cap-\(cap.id)", version: Int(cap.version),
                                                raw: Array(cap.bytes), facts: cap.facts, notes: cap.notes))
                }
                return out
            case .sysfsIntel:
                let files = try sysfsFiles(raw, context: "sysfs intel-iommu")
                let facts = try VTdRegisters.decode(capText: try file(files, "cap"), ecapText: try file(files, "ecap"))
                return [CapabilityRecord(unit: source.unit, capability: "vtd-regs", version: 1, raw: raw, facts: facts)]
            case .sysfsAMD:
                let files = try sysfsFiles(raw, context: "sysfs amd-iommu")
                let parsed = try AMDRegisters.parseSysfsFeatures(try file(files, "features"), kernel: kernel)
                return [CapabilityRecord(unit: source.unit, capability: "amd-efr", version: 1, raw: raw,
                                         facts: AMDRegisters.decode(efr: parsed.efr, efr2: parsed.efr2), notes: parsed.note.map { [$0] } ?? [])]
            case .iommufd:
                let info = try IOMMUFDHWInfo.decode(raw)
                return [CapabilityRecord(unit: source.unit, capability: "iommufd-hw-info", version: 1, raw: raw,
                                         facts: info.facts, notes: info.notes)]
            case .probe:
                let probes = try KernelProbes.decode(raw)
                return [CapabilityRecord(unit: source.unit, capability: kernelProbes, version: 1, raw: raw,
                                         facts: probes.facts, notes: probes.notes)]
            case .pciDevice:
                let decoded = try PCIDevice.decode(bdf: source.unit, files: try sysfsFiles(raw, context: "pci-device \(source.unit)"))
                return [CapabilityRecord(unit: source.unit, capability: pciDevice, version: 1, raw: raw, facts: decoded.facts, notes: decoded.notes)]
            }
        } catch {
            throw .decode(unit: source.unit, kind: source.kind.rawValue, error: error)
        }
    }

    /// sysfs raw: a JSON object of file name → file text.
    static func sysfsFiles(_ raw: [UInt8], context: String) throws(DecodeError) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: String] else {
            throw DecodeError(.badText, offset: 0, expected: "a JSON object of sysfs file name to text", context: context)
        }
        return object
    }

    static func file(_ files: [String: String], _ name: String) throws(DecodeError) -> String {
        guard let text = files[name] else {
            throw DecodeError(.truncated, offset: 0, expected: "the sysfs file \(name)", found: "files \(files.keys.sorted())", context: "sysfs")
        }
        return text
    }

    /// A `probe` source's raw bytes for a set of probe outcomes, in the canonical (sorted-key) form.
    public static func probeRaw(_ outcomes: [String: String]) -> [UInt8] { sysfsRaw(outcomes) }

    /// sysfs raw bytes for a set of files, in the canonical (sorted-key) form.
    public static func sysfsRaw(_ files: [String: String]) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: files, options: [.sortedKeys])) ?? Data("{}".utf8)
        return [UInt8](data)
    }
}
