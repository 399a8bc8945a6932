/// Little-endian fields in ioctl argument buffers (the layouts are those of x86_64/arm64).
extension Array where Element == UInt8 {
    func u32(at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[offset + $1]) << (8 * $1) }
    }

    mutating func setU32(_ value: UInt32, at offset: Int) {
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
}
