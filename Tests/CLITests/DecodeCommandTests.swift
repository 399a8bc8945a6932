import Foundation
import Testing
import TestSupport

/// `capreg decode` as a user runs it: the real binary, files and standard input, exit statuses.
@Suite struct DecodeCommandTests {
    static let captures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/captures")

    @Test func decodesACapturedBufferAsTable() throws {
        let run = try CapregBinary.run(["decode", "--kind", "vfio-info", "--kernel", "6.1.0-56-amd64",
                                  Self.captures.appendingPathComponent("scalable-aw48/vfio-info.hex").path])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stdout.contains("argsz 116"))
        #expect(run.stdout.contains("@56  id 3 v1  12 bytes  dma_avail"))
        #expect(run.stdout.contains("vfio.iova_top_bits"))
    }

    @Test func jsonFromStandardInputInBase64() throws {
        let hex = try String(contentsOf: Self.captures.appendingPathComponent("legacy-aw39/vfio-info.hex"), encoding: .utf8)
        let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap { i -> UInt8? in
            let a = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[a..<hex.index(a, offsetBy: 2)], radix: 16)
        }
        let run = try CapregBinary.run(["decode", "--kind", "vfio-info", "--json"], stdin: Data(Data(bytes).base64EncodedString().utf8))
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let facts = object["facts"] as! [String: Any]
        #expect(facts["vfio.iova_top_bits"] as? Int == 39)
        #expect(facts["vfio.caps"] as? String == "migration,dma_avail,iova_range")
        let caps = (object["vfio_info"] as! [String: Any])["capabilities"] as! [[String: Any]]
        #expect(caps.map { $0["id"] as? Int } == [2, 3, 1])
        #expect(caps[1]["raw_hex"] as? String == "0300010044000000ffff0000")  // id 3, v1, next 68, avail 0xffff
        #expect(caps[2]["iova_ranges"] as? [[String: String]] == [["start": "0x0", "end": "0xfedfffff"], ["start": "0xfef00000", "end": "0x7fffffffff"]])
        #expect(facts["vfio.iova_windows"] as? String == "0x0-0xfedfffff,0xfef00000-0x7fffffffff")
    }

    /// A chain composed from the fact sheet's offsets: the IOVA windows come out as a list of {start, end}
    /// beside the facts, and every capability field is a fact.
    @Test func jsonListsIOVARangesAndEveryField() throws {
        func le(_ v: UInt64, _ n: Int) -> String { (0..<n).map { String(format: "%02x", UInt8(truncatingIfNeeded: v >> (8 * UInt64($0)))) }.joined() }
        let hex = le(116, 4) + le(3, 4) + le(0x4020_1000, 8) + le(24, 4) + le(0, 4)           // argsz, flags, iova_pgsizes, cap_offset, pad
            + le(2, 2) + le(1, 2) + le(56, 4) + le(0, 8) + le(0x1000, 8) + le(0x1000_0000, 8)   // +24 MIGRATION
            + le(3, 2) + le(1, 2) + le(68, 4) + le(0xffff, 4)                                     // +56 DMA_AVAIL
            + le(1, 2) + le(1, 2) + le(0, 4) + le(2, 4) + le(0, 4)                                // +68 IOVA_RANGE, 2 windows
            + le(0, 8) + le(0xfed_fffff, 8) + le(0xfef0_0000, 8) + le(0xffff_ffff_ffff, 8)
        let run = try CapregBinary.run(["decode", "--kind", "vfio-info", "--encoding", "hex", "--json"], stdin: Data(hex.utf8))
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let caps = (object["vfio_info"] as! [String: Any])["capabilities"] as! [[String: Any]]
        #expect(caps[2]["iova_ranges"] as? [[String: String]] == [["start": "0x0", "end": "0xfedfffff"], ["start": "0xfef00000", "end": "0xffffffffffff"]])
        #expect(caps[0]["iova_ranges"] == nil)
        let facts = object["facts"] as! [String: Any]
        #expect(facts["vfio.iova_windows"] as? String == "0x0-0xfedfffff,0xfef00000-0xffffffffffff")
        #expect(facts["vfio.iova_ranges"] as? Int == 2 && facts["vfio.iova_top"] as? String == "0xffffffffffff")
        #expect(facts["vfio.migration.flags"] as? String == "0x0" && facts["vfio.migration.pgsize_bitmap"] as? String == "0x1000")
        #expect(facts["vfio.migration.max_dirty_bitmap_size"] as? Int == 0x1000_0000 && facts["vfio.dma_avail"] as? Int == 0xffff)
    }

    /// iommufd's out_max_pasid_log2 is the device's: one blob (one device cdev), its value in the facts.
    @Test func iommufdMaxPasidLog2IsPerDevice() throws {
        let struct40 = "28000000" + "00000000" + "01000000" + "00000000" + "0000000000000000" + "00000000" + "14000000" + "0000000000000000"
        let run = try CapregBinary.run(["decode", "--kind", "iommufd-hw-info", "--encoding", "hex", "--json"], stdin: Data(struct40.utf8))
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let facts = (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any])["facts"] as! [String: Any]
        #expect(facts["iommufd.max_pasid_log2"] as? Int == 20)
        #expect(facts["iommufd.data_type"] as? String == "none")
    }

    @Test func registersGivenDirectly() throws {
        let run = try CapregBinary.run(["decode", "--vtd-cap", "0x1d2008c222f0686", "--vtd-ecap", "880000f00f4a", "--json"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let facts = (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any])["facts"] as! [String: Any]
        #expect(facts["vtd.ecap.flts"] as? Bool == true)
        #expect(facts["hw.first_level.format"] as? String == "intel-vtd")
    }

    @Test func sysfsTextOnStandardInput() throws {
        let run = try CapregBinary.run(["decode", "--kind", "vtd-regs"], stdin: Data("d2008c22260286\nf00f4a\n".utf8))
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stdout.contains("vtd.max_guest_addr_width"))
    }

    /// Malformed input: exit 65 and a message naming the byte offset and what was expected.
    @Test func truncatedBufferExits65WithOffset() throws {
        let run = try CapregBinary.run(["decode", "--kind", "vfio-info", "--encoding", "hex"], stdin: Data("7400000003000000".utf8))
        #expect(run.status == 65)
        #expect(run.stderr.contains("at byte 8: expected 116 bytes as argsz says"), "stderr: \(run.stderr)")
    }

    @Test func badHexExits65() throws {
        let run = try CapregBinary.run(["decode", "--kind", "vfio-info", "--encoding", "hex"], stdin: Data("74zz".utf8))
        #expect(run.status == 65)
        #expect(run.stderr.contains("expected a hex digit"))
    }

    @Test func missingFileExits66AndUsageErrorsExit64() throws {
        #expect(try CapregBinary.run(["decode", "--kind", "vfio-info", "/nonexistent/blob"]).status == 66)
        #expect(try CapregBinary.run(["decode"]).status == 64)
        #expect(try CapregBinary.run(["decode", "--kind", "nonsense"]).status == 64)
        #expect(try CapregBinary.run(["decode", "--vtd-cap", "1"]).status == 64)
    }

    @Test func vocabularyMarkdownIsTheDocsFile() throws {
        let run = try CapregBinary.run(["vocabulary", "--markdown"])
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/capabilities.md")
        #expect(run.stdout == (try String(contentsOf: docs, encoding: .utf8)))
    }
}
