import Decoders
import Foundation
import Timestamps

/// What a collector sends: one host's identity, kernel and raw capability sources at one moment.
/// JSON with snake_case keys (api/openapi.yaml `Report`). The registry decodes `raw` itself with its
/// own decoders; `decoded` is the agent's view, kept for display only.
public struct Report: Codable, Hashable, Sendable {
    /// Unique per report; the registry treats a repeated id as the same report (idempotent ingest).
    public var reportId: String
    public var collectedAt: Date
    public var host: Host
    public var kernel: Kernel
    public var collectorVersion: String
    public var sources: [Source]

    public init(reportId: String, collectedAt: Date, host: Host, kernel: Kernel, collectorVersion: String, sources: [Source]) {
        self.reportId = reportId
        self.collectedAt = collectedAt
        self.host = host
        self.kernel = kernel
        self.collectorVersion = collectorVersion
        self.sources = sources
    }

    public struct Host: Codable, Hashable, Sendable {
        public var hostname: String
        public var machineId: String?
        public var labels: [String: String]

        public init(hostname: String, machineId: String? = nil, labels: [String: String] = [:]) {
            self.hostname = hostname
            self.machineId = machineId
            self.labels = labels
        }
    }

    public struct Kernel: Codable, Hashable, Sendable {
        /// `uname -r`, e.g. `6.1.0-56-amd64`.
        public var release: String
        /// `uname -v`, e.g. `#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-1`.
        public var version: String?

        public init(release: String, version: String? = nil) {
            self.release = release
            self.version = version
        }
    }

    /// One place the collector looked: a sysfs unit, a VFIO group, an iommufd device, a boot log line.
    public struct Source: Codable, Hashable, Sendable {
        public var kind: SourceKind
        /// `dmar0`, `ivhd0`, `vfio-group-12`, `vfio0`, …
        public var unit: String
        public var status: Status
        /// errno name when unavailable (ENOENT, EACCES, ENOTTY, …).
        public var reason: String?
        public var detail: String?
        /// The raw bytes, base64 (layout per `kind`, see SourceKind).
        public var raw: String?
        /// The agent's own decoding, informational.
        public var decoded: [String: String]?

        public init(kind: SourceKind, unit: String, status: Status = .ok, reason: String? = nil, detail: String? = nil,
                    raw: [UInt8]? = nil, decoded: [String: String]? = nil) {
            self.kind = kind
            self.unit = unit
            self.status = status
            self.reason = reason
            self.detail = detail
            self.raw = raw.map { Data($0).base64EncodedString() }
            self.decoded = decoded
        }

        public enum Status: String, Codable, Sendable {
            case ok, unavailable
        }

        /// The raw bytes, or nil when absent; malformed base64 is an error naming the source.
        public func rawBytes() throws(ReportError) -> [UInt8]? {
            guard let raw else { return nil }
            guard let data = Data(base64Encoded: raw) else {
                throw ReportError.badSource(unit: unit, kind: kind.rawValue, message: "raw is not valid base64")
            }
            return [UInt8](data)
        }
    }

    /// Reports as JSON: sorted keys, snake_case, times through RFC3339.format (UTC, milliseconds). Reading
    /// JSON back is `Report.decode(json:)` (ReportDecoding.swift), the one decoder with its checks.
    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(RFC3339.format(date))
        }
        e.outputFormatting = [.sortedKeys]
        return e
    }()
}

/// How a source's `raw` bytes are laid out.
public enum SourceKind: String, Codable, Sendable, CaseIterable {
    /// `/sys/class/iommu/dmarN/intel-iommu/`: raw is a JSON object of file name → exact file text
    /// (`{"cap":"d2008c22260286\n","ecap":"f00f4a\n",…}`).
    case sysfsIntel = "sysfs-intel"
    /// `/sys/class/iommu/ivhdN/amd-iommu/`: raw is a JSON object of file name → file text (`cap`, `features`).
    case sysfsAMD = "sysfs-amd"
    /// The whole `VFIO_IOMMU_GET_INFO` buffer of a type1 container.
    case vfio
    /// `struct iommu_hw_info` as returned, immediately followed by the type-specific data.
    case iommufd
    /// What the kernel allowed when asked (Decoders/KernelProbes.swift): raw is a JSON object of probe
    /// name → outcome (`{"iommufd.hwpt_alloc.nest_parent":"EOPNOTSUPP",…}`). Unit: the VFIO group or
    /// device cdev probed, or `iommufd` for the device-less probes.
    case probe
    /// One PCI device behind an IOMMU, unit = its address (`0000:3b:00.0`): raw is a JSON object of file
    /// name → text (Decoders/PCIDevice.swift: vendor, device, class, the iommu/iommu_group/driver/vfio-dev
    /// link names, config in hex with `config_size` the bytes read, trailing zero bytes left out).
    case pciDevice = "pci-device"
}

public enum ReportError: Error, Equatable, Sendable, CustomStringConvertible {
    case badSource(unit: String, kind: String, message: String)
    case decode(unit: String, kind: String, error: DecodeError)
    /// A report `check(clock:)` refuses, met where reports are stored (a backstop for callers that built
    /// a Report without the one decoder: nothing the check refuses reaches the database).
    case refused(ReportRefusal)

    public var description: String {
        switch self {
        case .badSource(let unit, let kind, let message): return "source \(kind) \(unit): \(message)"
        case .decode(let unit, let kind, let e): return "source \(kind) \(unit): \(e)"
        case .refused(let refusal): return refusal.description
        }
    }
}
