// libFuzzer entry: VT-d CAP/ECAP as 16 bytes, and the same input read as sysfs register text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVTdRegs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? BlobDecoder.decode(.vtdRegs, bytes: bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? BlobDecoder.decode(.vtdRegs, bytes: [], registerText: text)
    if let words = BlobDecoder.hexWords(text), words.count == 2 {
        _ = try? VTdRegisters.decode(capText: words[0], ecapText: words[1])
    }
    return 0
}
