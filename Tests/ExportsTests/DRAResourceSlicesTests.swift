import Decoders
import Exports
import Foundation
import Report
import Testing

/// The DRA slices' shape and the API's limits, on hosts made to press against them: many devices, long
/// texts, bridges, names that are no node names, unknown facts.
@Suite struct DRAResourceSlicesTests {
    static func device(_ i: Int, classCode: String = "0x020000", extra: [Fact] = []) -> DeviceFacts {
        let bdf = String(format: "0000:%02x:%02x.%d", 0x10 + i / 256, (i / 8) % 32, i % 8)
        return DeviceFacts(bdf: bdf, facts: ([Fact(PCIDevice.bdf, text: bdf), Fact(PCIDevice.classCode, text: classCode),
                                              Fact(PCIDevice.pasidBits, int: 20), Fact(PCIDevice.ats, true)] + extra).sorted { $0.name < $1.name })
    }

    static func host(_ name: String = "node-a", devices: [DeviceFacts], kernel: String? = "6.12.9-amd64", facts: [String: FactValue] = [:]) -> DRAResourceSlices.Host {
        DRAResourceSlices.Host(hostname: name, facts: facts, kernelRelease: kernel, generation: 42, devices: devices)
    }

    static func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func aSliceHoldsAtMost128DevicesAndThePoolCountsItsSlices() throws {
        let slices = DRAResourceSlices.slices(Self.host(devices: (0..<300).map { Self.device($0) }))
        #expect(slices.count == 3)
        var names = Set<String>()
        for (i, bytes) in slices.enumerated() {
            let slice = try Self.json(bytes)
            let spec = slice["spec"] as! [String: Any]
            let pool = spec["pool"] as! [String: Any]
            #expect(pool["resourceSliceCount"] as? Int == 3 && pool["generation"] as? Int == 42 && pool["name"] as? String == "node-a")
            let devices = spec["devices"] as! [[String: Any]]
            #expect(devices.count == (i < 2 ? 128 : 44))
            names.formUnion(devices.map { $0["name"] as! String })
            #expect(((slice["metadata"] as! [String: Any])["name"] as! String) == "capreg.node-a.\(i)")
        }
        #expect(names.count == 300, "device names are unique in the pool")
        #expect(names.allSatisfy { $0.count <= 63 && $0.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } })
    }

    @Test func unknownIsNoAttributeAndTextPastTheLimitIsLeftOut() throws {
        let long = String(repeating: "x", count: 65)
        let host = Self.host(devices: [Self.device(0, extra: [Fact(PCIDevice.driver, text: long), Fact(PCIDevice.vfioCdev, text: "vfio0")])],
                             kernel: "5.15.0-" + String(repeating: "9", count: 70),
                             facts: [CrossVendor.nesting: .bool(true), CrossVendor.pasidBits: .int(20)])
        let attributes = Dictionary(DRAResourceSlices.attributes(host.devices[0], of: host), uniquingKeysWith: { a, _ in a })
        #expect(attributes["driver"] == nil && attributes["kernelRelease"] == nil, "over 64 characters: left out, never cut")
        #expect(attributes["kernel"] == .version("5.15.0") && attributes["nesting"] == .bool(true) && attributes["iommuPasidBits"] == .int(20))
        #expect(attributes["deviceNesting"] == nil && attributes["pasidBind"] == nil, "unknown facts are no attributes")
        #expect(attributes["vfioCdev"] == .string("vfio0") && attributes["resource.kubernetes.io/pciBusID"] == .string("0000:10:00.0"))
        // Every fact known: still within 32 attributes.
        let all = DeviceFacts(bdf: "0000:01:00.0", facts: PCIDevice.vocabulary.map { e in
            Fact(e.name, e.type == .bool ? .bool(true) : e.type == .int ? .int(1) : .text("t"))
        })
        let full = Self.host(devices: [all], facts: Dictionary(CrossVendor.vocabulary.map { e in
            (e.name, e.type == .bool ? FactValue.bool(true) : e.type == .int ? .int(1) : .text("t")) }, uniquingKeysWith: { a, _ in a }))
        #expect(DRAResourceSlices.attributes(all, of: full).count <= DRAResourceSlices.maxAttributesPerDevice)
        #expect(DRAResourceSlices.attributeNames.count <= DRAResourceSlices.maxAttributesPerDevice)
        #expect(DRAResourceSlices.attributeNames.allSatisfy { name in
            let id = name.split(separator: "/").last!
            return id.count <= 32 && id.first!.isLetter && id.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
        })
    }

    @Test func bridgesAndHostsThatAreNoNodesPublishNothing() {
        #expect(DRAResourceSlices.slices(Self.host(devices: [Self.device(0, classCode: "0x060400"), Self.device(1, classCode: "0x060000")])).isEmpty)
        #expect(DRAResourceSlices.slices(Self.host(devices: [])).isEmpty)
        for bad in ["Node_A", "node..a", "-node", "node-", String(repeating: "a", count: 231), ""] {
            #expect(DRAResourceSlices.slices(Self.host(bad, devices: [Self.device(0)])).isEmpty, "\(bad)")
        }
        #expect(!DRAResourceSlices.slices(Self.host("rack1.node-7", devices: [Self.device(0)])).isEmpty)
    }
}
