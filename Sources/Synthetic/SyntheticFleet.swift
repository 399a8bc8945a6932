import Decoders
import Foundation
import Report

/// A deterministic, realistic-looking fleet for tests and benchmarks: Intel VT-d (legacy, scalable,
/// first-stage-only and nesting-capable register values) and AMD hosts, VFIO type1 info buffers whose
/// capability chain follows the kernel (5.4 has no MIGRATION/DMA_AVAIL, 6.12 pads to 8 bytes, 7.x
/// nesting and first-stage hosts add iommufd; nesting hosts keep the VFIO type1 container beside it, so
/// that their address width is known and some pass the vtd-nested profile), kernel upgrades, late
/// joiners and hosts that go stale.
/// The same (hosts, days, seed, start) always gives the same reports.
public struct SyntheticFleet: Sendable {
    public var hosts: Int
    public var days: Int
    public var seed: UInt64
    public var start: Date
    /// Hosts with a current collector (0.3.0) also report 1–8 PCI devices behind their IOMMU (some with
    /// ATS, PRI and PASID of 5 to 20 bits). Off by default: the figures and tests of earlier issues count
    /// the fleet without them.
    public var devices = false

    public static let kernels = ["5.4.0-150-generic", "5.15.0-91-generic", "6.1.0-18-amd64", "6.8.0-45-generic",
                                 "6.12.9-amd64", "7.0.1-1-amd64"]
    /// A vendor tree with the unmerged VFIO nesting series takes the first two places of `kernels` on a
    /// few nesting-capable VT-d hosts: NESTING v5 on a 5.8 base, v8 on 5.12; later upgrades go upstream
    /// (and lose the capability).
    public static let vsvaKernels = ["5.8.0+vsva", "5.12.0+vsva"]

    public init(hosts: Int, days: Int, seed: UInt64 = 1, start: Date = Date(timeIntervalSince1970: 1_735_689_600)) {
        self.hosts = hosts
        self.days = days
        self.seed = seed
        self.start = start
    }

    enum Hardware: CaseIterable {
        case vtdLegacy, vtdScalable, vtdFirstStageOnly, vtdNesting, amdRome, amdMilan, amdGenoa

        var isAMD: Bool { self == .amdRome || self == .amdMilan || self == .amdGenoa }
    }

    struct Profile {
        var hostname: String
        var machineId: String
        var labels: [String: String]
        var hardware: Hardware
        var units: Int
        var vfioGroup: Int?
        var firstKernel: Int
        /// Days on which the next kernel in `kernels` boots.
        var upgradeDays: [Int]
        var firstDay: Int
        var lastDay: Int
        var secondOfDay: Int
        /// Runs `vsvaKernels` instead of the first two upstream kernels.
        var vsva = false
        /// Runs a collector older than kernel probes (capreg-collector 0.1.0): its usable facts stay unknown.
        var oldCollector = false
        /// The host's number in the fleet.
        var index = 0

        func kernel(_ index: Int) -> String {
            vsva && index < SyntheticFleet.vsvaKernels.count ? SyntheticFleet.vsvaKernels[index] : SyntheticFleet.kernels[index]
        }
    }

    func profile(_ host: Int) -> Profile {
        var g = SplitMix64.stream(seed, 1, UInt64(host))
        let hardware: Hardware
        switch g.next() % 100 {
        case 0..<15: hardware = .vtdLegacy
        case 15..<35: hardware = .vtdScalable
        case 35..<45: hardware = .vtdFirstStageOnly
        case 45..<65: hardware = .vtdNesting
        case 65..<77: hardware = .amdRome
        case 77..<90: hardware = .amdMilan
        default: hardware = .amdGenoa
        }
        let firstKernel = Int(g.next() % 3)
        let upgrades = Int(g.next() % 4)
        let upgradeDays = (0..<min(upgrades, SyntheticFleet.kernels.count - 1 - firstKernel))
            .map { _ in days > 1 ? 1 + Int(g.next() % UInt64(days - 1)) : 0 }.sorted()
        let late = g.next() % 10 == 0 && days > 2
        let stale = g.next() % 8 == 0 && days > 2
        let firstDay = late ? Int(g.next() % UInt64(max(1, days / 2))) : 0
        let lastDay = stale ? max(firstDay, days / 3 + Int(g.next() % UInt64(max(1, days - days / 3)))) : days - 1
        let pools = ["batch", "gpu", "web", "db"]
        // Drawn from a stream of its own so that adding it left every other host's profile as it was.
        var v = SplitMix64.stream(seed, 2, UInt64(host))
        let vsva = hardware == .vtdNesting && v.next() % 10 == 0
        var c = SplitMix64.stream(seed, 3, UInt64(host))
        let oldCollector = c.next() % 10 == 0
        return Profile(
            hostname: String(format: "host-%06d", host),
            machineId: String(format: "%016llx%016llx", g.next(), g.next()),
            labels: ["rack": "r\(host / 40)", "pool": pools[Int(g.next() % UInt64(pools.count))]],
            hardware: hardware, units: 1 + Int(g.next() % 2),
            vfioGroup: g.next() % 5 == 0 ? nil : Int(g.next() % 64),
            firstKernel: firstKernel, upgradeDays: upgradeDays, firstDay: firstDay, lastDay: lastDay,
            secondOfDay: Int(g.next() % 86_400), vsva: vsva, oldCollector: oldCollector, index: host)
    }

    /// Host `host`'s report on `day`, or nil when it did not report that day (not yet joined, or stale).
    public func report(host: Int, day: Int) -> Report? {
        let p = profile(host)
        guard day >= p.firstDay && day <= p.lastDay else { return nil }
        let kernel = p.firstKernel + p.upgradeDays.filter { $0 <= day }.count
        // The last day's reports come in its final hour, so a fleet whose last day ends now (synth's
        // default) is fresh within the server's default freshness bound (2h) rather than up to a day old.
        let second = day == days - 1 ? 86_399 - p.secondOfDay % 3600 : p.secondOfDay
        let at = start.addingTimeInterval(Double(day * 86_400 + second))
        return report(p, kernel: kernel, at: at, id: "synth-\(seed)-\(host)-d\(day)")
    }

    /// `versions` reports of one host, a day apart, each on the next kernel: every one is a new version.
    public func versionedReports(host: Int, versions: Int) -> [Report] {
        let p = profile(host)
        return (0..<versions).map { v in
            let at = start.addingTimeInterval(Double(v * 86_400 + p.secondOfDay))
            return report(p, kernel: v % SyntheticFleet.kernels.count, at: at, id: "synth-\(seed)-\(host)-v\(v)")
        }
    }

    /// Every report, day by day (each host's reports in time order).
    public func forEachReport(_ body: (Report) throws -> Void) rethrows {
        for day in 0..<days {
            for host in 0..<hosts {
                if let r = report(host: host, day: day) { try body(r) }
            }
        }
    }

    func report(_ p: Profile, kernel index: Int, at: Date, id: String) -> Report {
        let release = p.kernel(index)
        let k = KernelRelease(release)
        var sources: [Report.Source] = []
        var vfio = SyntheticBytes.VFIOShape()
        vfio.migration = k.atLeast(5, 8)
        vfio.dmaAvail = k.atLeast(5, 10)
        vfio.padTo8 = k.atLeast(6, 12)
        var usesIOMMUFD = false
        var vtdNest = false
        switch p.hardware {
        case .vtdLegacy, .vtdScalable, .vtdFirstStageOnly, .vtdNesting:
            let (cap, ecap) = SyntheticFleet.vtdRegisters(p.hardware)
            vtdNest = ecap & (1 << 26) != 0
            if k.flavour == "+vsva" {
                vfio.nesting = SyntheticBytes.Nesting(revision: k.atLeast(5, 12) ? .v8 : .v5, cap: cap, ecap: ecap)
            }
            if p.hardware != .vtdLegacy { vfio.topIOVA = 0xffff_ffff_ffff }
            for u in 0..<p.units {
                sources.append(Report.Source(kind: .sysfsIntel, unit: "dmar\(u)",
                                             raw: SyntheticBytes.sysfsIntel(cap: cap, ecap: ecap, address: 0xfed9_0000 + UInt64(u) * 0x1000)))
            }
            if k.atLeast(7, 0) && (p.hardware == .vtdNesting || p.hardware == .vtdFirstStageOnly) {
                usesIOMMUFD = true
                sources.append(Report.Source(kind: .iommufd, unit: "iommufd-dev-1",
                                             raw: SyntheticBytes.iommufdVTd(cap: cap, ecap: ecap, maxPasidLog2: p.hardware == .vtdNesting ? 20 : 0)))
                if !p.oldCollector {
                    sources.append(SyntheticProbes.source("iommufd-dev-1", SyntheticProbes.iommufdDevice(kernel: k, cap: cap, ecap: ecap)))
                }
            }
        case .amdRome, .amdMilan, .amdGenoa:
            let efr: UInt64, efr2: UInt64
            switch p.hardware {
            case .amdRome: (efr, efr2) = (0x58f_77ef_2229_4a5a, 0)
            case .amdMilan: (efr, efr2) = (0x25bf_732f_a229_5afe, 0x53d)
            default: (efr, efr2) = (0x2465_77ef_a225_4afa, 0x10)
            }
            vfio.topIOVA = 0xffff_ffff_ffff
            for u in 0..<p.units {
                sources.append(Report.Source(kind: .sysfsAMD, unit: "ivhd\(u)",
                                             raw: SyntheticBytes.sysfsAMD(cap: 0x1c0b_400f, efr: efr, efr2: k.atLeast(6, 8) ? efr2 : nil)))
            }
        }
        // Nesting hosts keep the type1 container beside iommufd (its IOVA range gives QEMU's aw-bits).
        if !usesIOMMUFD || p.hardware == .vtdNesting {
            if let group = p.vfioGroup {
                sources.append(Report.Source(kind: .vfio, unit: "vfio-group-\(group)", raw: SyntheticBytes.vfioInfo(vfio)))
                if !p.oldCollector {
                    sources.append(SyntheticProbes.source("vfio-group-\(group)", SyntheticProbes.vfio(kernel: k, vtdNest: vtdNest, vsva: k.flavour == "+vsva")))
                }
            } else {
                sources.append(Report.Source(kind: .vfio, unit: "vfio", status: .unavailable, reason: "ENOENT",
                                             detail: "no device bound to vfio-pci"))
            }
        }
        // Kernels 7.x are built with iommufd here; the others (Debian's, Ubuntu's of their day) without.
        if !p.oldCollector {
            sources.append(SyntheticProbes.source("iommufd", SyntheticProbes.iommufdKernel(kernel: k, hasIOMMUFD: k.atLeast(7, 0), devices: usesIOMMUFD ? 1 : 0)))
        }
        let withDevices = devices && !p.oldCollector
        if withDevices {
            sources += SyntheticFleet.devices(host: p.index, seed: seed, profile: p, iommufdDevice: usesIOMMUFD ? "iommufd-dev-1" : nil).map(\.source)
        }
        return Report(reportId: id, collectedAt: at,
                      host: Report.Host(hostname: p.hostname, machineId: p.machineId, labels: p.labels),
                      kernel: Report.Kernel(release: release, version: "#1 SMP PREEMPT_DYNAMIC"),
                      collectorVersion: p.oldCollector ? "capreg-collector 0.1.0" : withDevices ? "capreg-collector 0.3.0" : "capreg-collector 0.2.0",
                      sources: sources)
    }

    /// A host's devices (the same on every day): NICs and NVMe drives, the first bound to vfio-pci with the
    /// iommufd device's cdev name where the host has one, so its kernel facts attach to it.
    static func devices(host: Int, seed: UInt64, profile p: Profile, iommufdDevice: String?) -> [SyntheticDevice] {
        var g = SplitMix64.stream(seed, 4, UInt64(host))
        let count = 1 + Int(g.next() % 8)
        let unitPrefix = p.hardware.isAMD ? "ivhd" : "dmar"
        return (0..<count).map { i in
            var d = SyntheticDevice(bdf: String(format: "0000:%02x:00.%d", 0x3b + i / 4, i % 4))
            let nvme = g.next() % 3 == 0
            (d.vendor, d.device, d.classCode) = nvme ? (0x144d, 0xa80a, 0x010802) : (0x8086, 0x1572, 0x020000)
            d.group = 10 + i
            d.unit = unitPrefix + String(i % p.units)
            d.driver = i == 0 || g.next() % 2 == 0 ? "vfio-pci" : (nvme ? "nvme" : "i40e")
            d.cdev = i == 0 ? iommufdDevice : nil
            d.ats = g.next() % 4 != 0
            d.pri = d.ats && g.next() % 2 == 0
            if g.next() % 3 != 0 { d.pasidBits = [5, 8, 16, 20][Int(g.next() % 4)] }
            d.pasidExec = d.pasidBits != nil && g.next() % 2 == 0
            return d
        }
    }

    /// VT-d CAP/ECAP values: the first three as QEMU's emulated unit reports them (../shared/captures);
    /// the nesting one is the scalable unit with NEST (26), PASID (40), PSS = 19 (39:35) and FLTS (47) set,
    /// and first-level 1 GiB pages (CAP.FL1GP, 56) as on recent server parts.
    static func vtdRegisters(_ hardware: Hardware) -> (cap: UInt64, ecap: UInt64) {
        switch hardware {
        case .vtdLegacy: return (0xd2_008c_2226_0286, 0xf0_0f4a)
        case .vtdScalable: return (0xd2_008c_222f_0686, 0x4800_80f0_0f4a)
        case .vtdFirstStageOnly: return (0x1d2_008c_222f_0686, 0x8800_00f0_0f4a)
        default:
            let ecap: UInt64 = 0x4800_80f0_0f4a | 1 << 26 | 1 << 40 | 19 << 35 | 1 << 47
            return (0xd2_008c_222f_0686 | 1 << 56, ecap)
        }
    }
}
