// libFuzzer entry: a report's `probe` source (a JSON object of probe name → outcome), decoded as the
// registry does, with every fact checked against the bounds the decoder promises.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKernelProbes(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let decoded = try? KernelProbes.decode(bytes) else { return 0 }
    precondition(decoded.entries.count <= KernelProbes.maxKeys)
    for fact in decoded.facts {
        precondition(fact.name.hasPrefix("probe."))
        if case .text(let s) = fact.value, fact.name != "probe.iommufd.commands" { precondition(s.utf8.count <= KernelProbes.maxOutcomeLength) }
    }
    return 0
}
