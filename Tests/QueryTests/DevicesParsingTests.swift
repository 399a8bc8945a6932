import Decoders
import Query
import Testing

/// `devices(EXPR) op N`: device names only inside, host names only outside, a count after, and the
/// evaluator's three-valued answer (unknown when the host reported no devices).
@Suite struct DevicesParsingTests {
    @Test func formsAndPrinting() throws {
        let e = try QueryParser.parse("devices(device.pasid.bits >= 20 and device.driver = \"vfio-pci\") >= 2 and nesting")
        #expect(e.description == "(devices((device.pasid.bits >= 20 and device.driver = \"vfio-pci\")) >= 2 and nesting = true)")
        #expect(try QueryParser.parse(e.description) == e)
        // Without a comparison: at least one.
        #expect(try QueryParser.parse("devices(device.ats)") == .devices(.compare(.fact("device.ats", .bool), .eq, .bool(true)), .ge, 1))
        #expect(try QueryParser.parse("DEVICES(known(device.nesting)) = 0").readsDevices)
        #expect(e.terms.contains(.fact(PCIDevice.hostCount, .int)) && !e.terms.contains(.fact("device.pasid.bits", .int)))
    }

    @Test(arguments: [
        ("device.ats", "is a fact of one PCI device"),
        ("devices(nesting)", "unknown name 'nesting'"),
        ("devices(kernel >= \"6.1\")", "kernel is the host's"),
        ("devices(label.rack = \"r1\")", "label.rack is the host's"),
        ("devices(devices(device.ats))", "cannot be nested"),
        ("devices(profile(\"vtd-nested\"))", "profile() is about a host"),
        ("devices(device.ats) >= -1", "a whole number >= 0"),
        ("devices(device.ats) >= \"2\"", "a whole number >= 0"),
        ("devices(device.ats", "')' to close devices("),
        ("devices device.ats", "'(' after 'devices'"),
    ])
    func refused(_ text: String, _ mentions: String) {
        do {
            _ = try QueryParser.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.message.contains(mentions), "\(text): \(error.message)")
        }
    }

    @Test func evaluation() throws {
        let devices: [[String: FactValue]] = [
            ["device.bdf": .text("a"), "device.pasid.bits": .int(20), "device.ats": .bool(true)],
            ["device.bdf": .text("b"), "device.pasid.bits": .int(8)],
            ["device.bdf": .text("c")],
        ]
        let host = QueryEvaluator(facts: [PCIDevice.hostCount: .int(3)], kernelRelease: nil, labels: [:], devices: devices)
        func eval(_ text: String, _ h: QueryEvaluator = host) throws -> Bool? { h.evaluate(try QueryParser.parse(text)) }
        #expect(try eval("devices(device.pasid.bits >= 8) = 2") == true)
        #expect(try eval("devices(device.pasid.bits >= 8) > 2") == false)
        #expect(try eval("not devices(device.pasid.bits >= 8) > 2") == true)
        // A device whose fact is unknown is not counted either way.
        #expect(try eval("devices(not device.ats) = 0") == true)
        #expect(try eval("devices(not known(device.ats)) = 2") == true)
        // No devices reported: unknown, and so is its negation.
        let none = QueryEvaluator(facts: [:], kernelRelease: nil, labels: [:], devices: [])
        #expect(try eval("devices(device.ats) = 0", none) == nil && eval("not devices(device.ats) = 0", none) == nil)
    }
}
