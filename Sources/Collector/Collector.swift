import Decoders
import Foundation
import Report

/// Builds one report: host identity, kernel, and every configured source, each decoded locally for
/// the informational `decoded` field. A source whose bytes our own decoders reject is sent as
/// unavailable (EBADMSG) with its raw bytes kept, so the registry still accepts the report.
public struct Collector: Sendable {
    public struct Options: Sendable {
        public var sysfsRoot = "/sys"
        public var devRoot = "/dev"
        public var machineIDPath = "/etc/machine-id"
        /// Which VFIO groups and vfio device cdevs to probe: `.all` (the default: every one present, so a
        /// plain run asks the kernel what it allows), named ones, or `.named([])` for none (sysfs only).
        public var vfioGroups: CollectorConfig.Selection = .all
        public var iommufdDevices: CollectorConfig.Selection = .all
        public var hostname: String?
        public var labels: [String: String] = [:]
        public init() {}
    }

    /// 0.2.0: the first that sends kernel probes (Report/UsableFacts.firstProbingCollector); 0.3.0: the
    /// first that sends PCI devices (`pci-device` sources).
    public static let version = "capreg-collector 0.3.0"

    public var options: Options
    public var io: any DeviceIO

    public init(options: Options, io: any DeviceIO = LinuxDeviceIO()) {
        self.options = options
        self.io = io
    }

    /// The name this run's reports carry (HostIdentity.resolve: the configured name, else the system's).
    public func identity() throws(HostIdentity.Unusable) -> String {
        try HostIdentity.resolve(configured: options.hostname, system: HostIdentity.hostname())
    }

    /// One report; refused (no report at all) when the host has no usable name.
    public func collect(now: Date = Date(), kernel: Report.Kernel = HostIdentity.kernel()) throws(HostIdentity.Unusable) -> Report {
        let hostname = try identity()
        var sources = SysfsSource.collect(root: options.sysfsRoot)
        sources += PCIDeviceSource.collect(root: options.sysfsRoot)
        if options.vfioGroups != .named([]) {
            sources += VFIOSource(io: io, devRoot: options.devRoot, sysfsRoot: options.sysfsRoot).collect(groups: options.vfioGroups.names)
        }
        if options.iommufdDevices != .named([]) {
            sources += IOMMUFDSource(io: io, devRoot: options.devRoot, sysfsRoot: options.sysfsRoot)
                .collect(devices: options.iommufdDevices.names)
        }
        let release = KernelRelease(kernel.release)
        sources = sources.map { Self.decode($0, kernel: release) }
        let host = Report.Host(hostname: hostname,
                               machineId: HostIdentity.machineID(path: options.machineIDPath), labels: options.labels)
        return Report(reportId: UUID().uuidString.lowercased(), collectedAt: now, host: host, kernel: kernel,
                      collectorVersion: Self.version, sources: sources)
    }

    /// Fills `decoded` with the registry's own decoding (facts by name; collector.* keys kept).
    public static func decode(_ source: Report.Source, kernel: KernelRelease?) -> Report.Source {
        guard source.status == .ok else { return source }
        var out = source
        do {
            let records = try SourceDecoder.records(source, kernel: kernel)
            var decoded = source.decoded ?? [:]
            for record in records {
                for fact in record.facts { decoded[fact.name] = fact.value.description }
            }
            out.decoded = decoded
        } catch {
            out.status = .unavailable
            out.reason = "EBADMSG"
            out.detail = [source.detail, "not decodable here: \(error)"].compactMap { $0 }.joined(separator: "; ")
        }
        return out
    }
}
