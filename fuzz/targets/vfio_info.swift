// libFuzzer entry: VFIOInfo.decode on arbitrary bytes, with and without a kernel release; the same bytes as IOVA window text.
// The first byte picks the kernel so the id 2/3/4 tie-break paths are reached too.
let fuzzKernels: [KernelRelease?] = [nil, KernelRelease("5.6.0"), KernelRelease("5.9.0"), KernelRelease("6.1.0-56-amd64"), KernelRelease("6.12.95")]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVFIOInfo(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let kernel = fuzzKernels[Int(data[0]) % fuzzKernels.count]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    // The same bytes as stored window text (what covers() reads): a list or nil, and a list is canonical.
    if let windows = IOVAWindows.parse(String(decoding: bytes, as: UTF8.self)) {
        precondition(windows.allSatisfy { $0.start <= $0.end })
        precondition(IOVAWindows.parse(IOVAWindows.text(windows)) == windows)
        let common = IOVAWindows.intersection([windows, windows])
        precondition(zip(common, common.dropFirst()).allSatisfy { $0.end < $1.start })
    }
    do {
        let info = try VFIOInfo.decode(bytes, kernel: kernel)
        // Invariants: capabilities are in strictly increasing order and inside argsz.
        var last = -1
        for cap in info.capabilities {
            precondition(cap.offset > last && cap.offset + cap.bytes.count <= Int(info.argsz))
            last = cap.offset
        }
        _ = info.facts
        // The IOVA windows' text parses back to exactly the ranges decoded.
        for cap in info.capabilities {
            if case .iovaRange(let ranges) = cap.content { precondition(IOVAWindows.parse(IOVAWindows.text(ranges)) == ranges) }
        }
    } catch {
        precondition(error.offset >= 0 && error.offset <= bytes.count + 8)
        _ = error.description
    }
    return 0
}
