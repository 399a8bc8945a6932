import Foundation
import Report
import Testing
@testable import Store
import StoreSQLite
@testable import Synthetic

@Suite struct SyntheticFleetTests {
    func all(_ fleet: SyntheticFleet) -> [Report] {
        var out: [Report] = []
        fleet.forEachReport { out.append($0) }
        return out
    }

    @Test func sameSeedSameReports() {
        #expect(all(SyntheticFleet(hosts: 20, days: 6, seed: 4)) == all(SyntheticFleet(hosts: 20, days: 6, seed: 4)))
        #expect(all(SyntheticFleet(hosts: 20, days: 6, seed: 4)) != all(SyntheticFleet(hosts: 20, days: 6, seed: 5)))
    }

    @Test func fleetIsMixed() {
        let fleet = SyntheticFleet(hosts: 200, days: 30, seed: 1)
        let reports = all(fleet)
        let kinds = Set(reports.flatMap { $0.sources.map(\.kind) })
        #expect(kinds == Set(SourceKind.allCases).subtracting([.pciDevice]), "devices only when asked for")
        var withDevices = fleet
        withDevices.devices = true
        #expect(Set(all(withDevices).flatMap { $0.sources.map(\.kind) }) == Set(SourceKind.allCases))
        let kernelsPerHost = Dictionary(grouping: reports, by: \.host.hostname).mapValues { Set($0.map(\.kernel.release)).count }
        #expect(kernelsPerHost.values.contains { $0 > 1 }, "kernel upgrades")
        let stale = (0..<fleet.hosts).filter { fleet.report(host: $0, day: 0) != nil && fleet.report(host: $0, day: 29) == nil }
        #expect(!stale.isEmpty, "hosts that go stale")
        let late = (0..<fleet.hosts).filter { fleet.report(host: $0, day: 0) == nil }
        #expect(!late.isEmpty, "hosts that join late")
        #expect(reports.contains { $0.sources.contains { $0.status == .unavailable } })
    }

    /// The VFIO buffers are laid out as the kernel does: 6.1 (legacy-aw39) and 6.12, padded to 8 bytes
    /// (iommufd-q10-scalable-flts, top IOVA 0x7fffffffffff).
    @Test(arguments: [("legacy-aw39", false, UInt64(0x7f_ffff_ffff)), ("iommufd-q10-scalable-flts", true, UInt64(0x7fff_ffff_ffff))])
    func vfioBufferMatchesTheRealCapture(capture: String, padded: Bool, top: UInt64) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/captures/\(capture)/vfio-info.hex").standardized
        let hex = try String(contentsOf: url, encoding: .utf8).filter { $0.isHexDigit }
        let bytes: [UInt8] = stride(from: 0, to: hex.count, by: 2).map { i in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
        var shape = SyntheticBytes.VFIOShape()
        shape.padTo8 = padded
        shape.topIOVA = top
        #expect(SyntheticBytes.vfioInfo(shape) == bytes)
    }

    /// A few nesting-capable VT-d hosts run a vendor tree with the unmerged nesting series: their VFIO
    /// buffers carry NESTING v5 (5.8.0+vsva) or v8 (5.12.0+vsva), decoded without ambiguity.
    @Test func vsvaHostsCarryTheNestingCapability() throws {
        let fleet = SyntheticFleet(hosts: 400, days: 2, seed: 1)
        var seen: [String: Int] = [:]
        for host in 0..<fleet.hosts {
            for r in fleet.versionedReports(host: host, versions: 2) where r.kernel.release.hasSuffix("+vsva") {
                let p = try PreparedReport(r)
                guard let vfio = p.records.first(where: { $0.unit.hasPrefix("vfio-group") && $0.capability == "vfio-info" }) else { continue }
                let facts = Dictionary(p.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
                let v8 = r.kernel.release == "5.12.0+vsva"
                #expect(facts["nesting.format"] == .text("intel-vtd"), "\(r.reportId)")
                #expect(facts["nesting.revision"] == .text(v8 ? "v8" : "v5"), "\(r.reportId)")
                #expect(facts["nesting.pasid_bits"] == .int(20))
                #expect(!p.records.flatMap(\.notes).contains { $0.contains("fits") }, "\(vfio.notes)")
                seen[r.kernel.release, default: 0] += 1
            }
        }
        #expect(seen["5.8.0+vsva", default: 0] > 0 && seen["5.12.0+vsva", default: 0] > 0, "\(seen)")
    }

    @Test func sysfsBytesAreTheCanonicalForm() {
        #expect(SyntheticBytes.sysfsIntel(cap: 0xd2_008c_2226_0286, ecap: 0xf0_0f4a, address: 0xfed9_0000)
                == SourceDecoder.sysfsRaw(["cap": "d2008c22260286\n", "ecap": "f00f4a\n", "version": "1:0\n", "address": "fed90000\n"]))
        #expect(SyntheticBytes.sysfsAMD(cap: 0x1c0b_400f, efr: 0x58f_77ef_2229_4a5a, efr2: 0x10)
                == SourceDecoder.sysfsRaw(["cap": "1c0b400f\n", "features": "58f77ef22294a5a:10\n"]))
    }

    /// The fleet writes probe bytes itself (SyntheticProbes.raw); every probe set it makes must be the
    /// bytes the collector's canonical form (JSONSerialization, sorted keys) gives.
    @Test func probeBytesAreTheCanonicalForm() throws {
        var probes = 0
        for report in all(SyntheticFleet(hosts: 200, days: 30, seed: 1)) {
            for source in report.sources where source.kind == .probe {
                let raw = try #require(try source.rawBytes())
                let outcomes = try #require(try JSONSerialization.jsonObject(with: Data(raw)) as? [String: String])
                #expect(raw == SourceDecoder.probeRaw(outcomes), "\(report.reportId) \(source.unit)")
                probes += 1
            }
        }
        #expect(probes > 1000)
    }
}
