// libFuzzer entry: AMD EFR/EFR2 as bytes, and sysfs `features` text under several kernel releases.
let amdKernels: [KernelRelease?] = [nil, KernelRelease("5.15.0"), KernelRelease("6.0.9"), KernelRelease("6.8.0")]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAMDEFR(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let kernel = amdKernels[Int(data[0]) % amdKernels.count]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    _ = try? BlobDecoder.decode(.amdEFR, bytes: bytes, kernel: kernel)
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? AMDRegisters.parseSysfsFeatures(text, kernel: kernel)
    _ = try? BlobDecoder.decode(.amdEFR, bytes: [], registerText: text, kernel: kernel)
    return 0
}
