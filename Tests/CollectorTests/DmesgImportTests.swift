import Collector
import Foundation
import Report
import Testing
import Timestamps

@Suite struct DmesgImportTests {
    @Test func realDmesgWithBootTime() throws {
        let text = try Fixtures.text(Fixtures.capture("iommufd-q10-scalable-flts").appendingPathComponent("dmesg.txt"))
        let boot = Date(timeIntervalSince1970: 1_790_000_000)
        let reports = try DmesgImport.reports(text, file: "dmesg.txt", host: "vm1", bootTime: boot)
        #expect(reports.count == 1)
        let r = reports[0]
        #expect(r.collectedAt == boot && r.kernel.release == "6.12.95-vmharness-iommufd" && r.host.hostname == "vm1")
        // The line the DMAR register line is on (the capture was retaken once; its line moved from 115 to 117).
        let line = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("DMAR: dmar0: reg_base_addr") }) + 1
        #expect(r.sources.count == 1 && r.sources[0].unit == "dmar0" && r.sources[0].detail == "boot log dmesg.txt:\(line)")
        // Same values as the capture's sysfs, decoded the way the registry will.
        let files = try JSONSerialization.jsonObject(with: Data(try #require(try r.sources[0].rawBytes()))) as! [String: String]
        #expect(files == ["address": "fed90000\n", "version": "1:0\n", "cap": "1d2008c222f0686\n", "ecap": "880000f00f4a\n"])
        let sysfs = SysfsSource.collect(root: Fixtures.capture("iommufd-q10-scalable-flts").appendingPathComponent("sysfs").path)
        #expect(r.sources[0].raw == sysfs[0].raw)
        #expect(r.sources[0].decoded?["vtd.ecap.flts"] == "true")
        // Importing again gives the same id: the registry stores it once.
        #expect(try DmesgImport.reports(text, file: "dmesg.txt", host: "vm1", bootTime: boot)[0].reportId == r.reportId)
    }

    @Test func journalShortISOWithTwoBootsAndAMD() throws {
        let log = """
            -- Boot 1a2b --
            2024-01-02T03:04:05+0000 h kernel: Linux version 5.15.0-91-generic (buildd@lcy02) #101-Ubuntu SMP
            2024-01-02T03:04:05+0000 h kernel: DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a
            2024-01-02T03:04:06+0000 h kernel: DMAR: dmar1: reg_base_addr fed91000 ver 1:0 cap d2008c22260286 ecap f00f4a
            -- Boot 3c4d --
            2024-03-01T10:00:00+0000 h kernel: Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)
            2024-03-01T10:00:01+0000 h kernel: pci 0000:00:00.2: AMD-Vi: Extended features (0x206d73ef22254ade, 0x0): PPR X2APIC NX GT IA GA PC GA_vAPIC
            """
        let reports = try DmesgImport.reports(log, file: "j.log", host: "h")
        #expect(reports.count == 2)
        #expect(reports[0].kernel.release == "5.15.0-91-generic" && reports[0].sources.map(\.unit) == ["dmar0", "dmar1"])
        #expect(reports[0].collectedAt == (try RFC3339.parse("2024-01-02T03:04:05Z")))
        #expect(reports[1].sources.map(\.kind) == [.sysfsAMD] && reports[1].sources[0].status == .ok)
        #expect(reports[1].sources[0].decoded?["amd.efr"] == "0x206d73ef22254ade")
        #expect(reports[0].reportId != reports[1].reportId)
    }

    @Test func plainDmesgWithoutBootTimeIsAnErrorNamingTheLine() {
        let log = "Linux version 6.1.0 (x)\nDMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a\n"
        #expect(throws: DmesgImport.ParseError(file: "d", line: 1, message: "no wall-clock time for this boot; give --boot-time (RFC 3339) or use journalctl --output short-iso")) {
            try DmesgImport.reports(log, file: "d", host: "h")
        }
    }

    @Test func malformedRegisterLineNamesFileAndLine() {
        let log = "[0.0] Linux version 6.1.0 (x)\n[0.1] x\n[0.2] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap zz ecap f00f4a\n"
        do {
            _ = try DmesgImport.reports(log, file: "d.txt", host: "h", bootTime: Date())
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "d.txt:3: cap `zz` is not hexadecimal")
        }
    }
}
