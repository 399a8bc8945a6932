/// Bounds-checked little-endian reads at explicit offsets. Never reinterprets memory as a struct:
/// each field is assembled byte by byte, so alignment and host endianness do not matter.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    /// Name of the structure being read, used in errors.
    public let context: String
    /// Offset of `bytes[0]` within the outer blob, so errors name absolute offsets.
    public let base: Int

    public init(_ bytes: [UInt8], context: String, base: Int = 0) {
        self.bytes = bytes
        self.context = context
        self.base = base
    }

    public var count: Int { bytes.count }

    @inline(__always)
    func need(_ offset: Int, _ size: Int, _ field: String) throws(DecodeError) {
        guard offset >= 0, size >= 0, offset <= bytes.count - size else {
            throw DecodeError(.truncated, offset: base + offset,
                              expected: "\(size) byte\(size == 1 ? "" : "s") of \(field)",
                              found: "\(max(0, bytes.count - offset)) left", context: context)
        }
    }

    public func u8(_ offset: Int, _ field: String) throws(DecodeError) -> UInt8 {
        try need(offset, 1, field)
        return bytes[offset]
    }

    public func u16(_ offset: Int, _ field: String) throws(DecodeError) -> UInt16 {
        try need(offset, 2, field)
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    public func u32(_ offset: Int, _ field: String) throws(DecodeError) -> UInt32 {
        try need(offset, 4, field)
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(bytes[offset + i]) }
        return v
    }

    public func u64(_ offset: Int, _ field: String) throws(DecodeError) -> UInt64 {
        try need(offset, 8, field)
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[offset + i]) }
        return v
    }

    /// A sub-range as its own reader; offsets in its errors stay absolute.
    public func slice(_ offset: Int, _ size: Int, _ field: String, context: String? = nil) throws(DecodeError) -> ByteReader {
        try need(offset, size, field)
        return ByteReader(Array(bytes[offset..<(offset + size)]), context: context ?? self.context, base: base + offset)
    }

    /// Throws `badValue` unless the `size` bytes at `offset` are all zero (reserved fields).
    public func requireZero(_ offset: Int, _ size: Int, _ field: String) throws(DecodeError) {
        try need(offset, size, field)
        for i in offset..<(offset + size) where bytes[i] != 0 {
            throw DecodeError(.badValue, offset: base + i, expected: "zero in \(field)",
                              found: hex(UInt64(bytes[i])), context: context)
        }
    }

    public func allZero(_ offset: Int, _ size: Int) -> Bool {
        guard offset >= 0, size >= 0, offset <= bytes.count - size else { return false }
        return bytes[offset..<(offset + size)].allSatisfy { $0 == 0 }
    }
}

/// `0x`-prefixed lowercase hex, the one spelling capreg uses for register values and bitmaps.
public func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
