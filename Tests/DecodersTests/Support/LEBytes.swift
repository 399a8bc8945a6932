/// Builds fixture bytes field by field, little-endian, independently of the decoders' readers.
struct LEBytes {
    var bytes: [UInt8] = []
    var count: Int { bytes.count }

    mutating func u16(_ v: UInt16) { for i in 0..<2 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func zeros(_ n: Int) { bytes += Array(repeating: 0, count: n) }
    mutating func append(_ other: [UInt8]) { bytes += other }

    /// Overwrites a little-endian u32 at `offset` (to patch argsz or next after composing).
    mutating func set32(_ offset: Int, _ v: UInt32) { for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
}
