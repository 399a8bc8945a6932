// libFuzzer entry: what `capreg decode` does to its input before decoding: encoding detection,
// hex and base64 parsing, register text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBlobText(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let detected = BlobEncoding.detect(bytes)
    for encoding in [nil] + BlobEncoding.allCases {
        if let decoded = try? BlobText.bytes(bytes, encoding: encoding), encoding == .raw {
            precondition(decoded == bytes)
        }
    }
    _ = detected
    _ = try? BlobText.register(String(decoding: bytes, as: UTF8.self))
    _ = KernelRelease(String(decoding: bytes, as: UTF8.self))
    return 0
}
