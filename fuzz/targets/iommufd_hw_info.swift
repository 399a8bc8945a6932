// libFuzzer entry: an iommu_hw_info struct followed by its type-specific data (capreg's capture form).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIOMMUFDHWInfo(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let info = try IOMMUFDHWInfo.decode(bytes)
        _ = info.facts
    } catch {
        _ = error.description
    }
    return 0
}
