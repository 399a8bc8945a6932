// libFuzzer entry: a PCI device's configuration space as read from sysfs (up to 4096 bytes), decoded as the
// registry does (PCIDevice: the extended capability walk for ATS/PRI/PASID), with the facts checked against
// what the decoder promises: only device vocabulary names, a PASID width of 5 bits, the three capabilities
// known exactly when a whole PCIe or conventional space was given.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPCIDevice(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var files = ["vendor": "0x8086\n", "device": "0x10d3\n", "class": "0x020000\n", "iommu_group": "3", "iommu": "dmar0"]
    files.merge(PCIDevice.configFiles(bytes)) { a, _ in a }
    guard let decoded = try? PCIDevice.decode(bdf: "0000:00:04.0", files: files) else { return 0 }
    var names = Set<String>()
    for fact in decoded.facts {
        precondition(PCIDevice.byName[fact.name]?.type == fact.value.type, "\(fact.name) is not a device name of its type")
        precondition(names.insert(fact.name).inserted, "\(fact.name) twice")
        if fact.name == PCIDevice.pasidBits, case .int(let bits) = fact.value { precondition((0...31).contains(bits)) }
    }
    let known = names.contains(PCIDevice.pasid)
    precondition(known == (bytes.count == 256 || bytes.count >= 4096), "ATS/PRI/PASID known for \(bytes.count) bytes")
    precondition(names.contains(PCIDevice.pasidBits) == (known && decoded.facts.contains { $0.name == PCIDevice.pasid && $0.value == .bool(true) }))
    return 0
}
