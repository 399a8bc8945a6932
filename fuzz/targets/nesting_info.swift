// libFuzzer entry: a bare iommu_nesting_info, auto-detected or forced to one revision (first byte).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNestingInfo(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let revisions: [NestingInfo.Revision?] = [nil] + NestingInfo.Revision.allCases
    let revision = revisions[Int(data[0]) % revisions.count]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    do {
        switch try NestingInfo.detect(bytes, revision: revision) {
        case .decoded(let info):
            precondition(Int(info.size) == bytes.count)
            _ = info.facts
        case .ambiguous(let candidates):
            precondition(candidates.count > 1)
        }
    } catch {
        _ = error.description
    }
    return 0
}
