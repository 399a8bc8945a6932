// libFuzzer entry: struct iommu_hw_info_arm_smmuv3 bytes (IDR0–IDR5, IIDR, AIDR).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMMUv3IDR(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? SMMUv3Registers.decodeBytes(bytes)
    return 0
}
