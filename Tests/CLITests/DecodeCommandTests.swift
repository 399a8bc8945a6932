import Foundation
import Testing
import TestSupport

/// `capreg decode` as a user runs it: the real binary, files and standard input, exit statuses.
@Suite struct DecodeCommandTests {
    /// `shared/captures` beside the checkout, looked for upwards: a git worktree sits deeper (wt/NAME) than the main checkout.
    static let captures: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        while dir.path != "/" {
            dir = dir.deletingLastPathComponent()
            let candidate = dir.appendingPathComponent("shared/captures")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: "/nonexistent/shared/captures")
    }()

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
    }

    @Test func registersGivenDirectly() throws {
        let run = try CapregBinary.run(["decode", "--vtd-cap", "0x1d2008c222f0686", "--vtd-ecap", "880000f00f4a", "--json"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let facts = (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any])["facts"] as! [String: Any]
        #expect(facts["vtd.ecap.flts"] as? Bool == true)
        #expect(facts["hw.first_level.format"] as? String == "intel-vtd", "registers alone give the hardware half only")
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
