/// Bounds-checked little-endian reads at explicit offsets. Never reinterprets memory as a struct:
/// each field is assembled byte by byte, so alignment and host endianness do not matter.
/// A reader is a window on a shared array: slicing copies nothing, and errors name offsets
/// from the start of the outer blob.
public struct ByteReader: Sendable {
    let storage: [UInt8]
    /// Window into `storage`.
    let start: Int
    public let count: Int
    /// Which structure is being read; formatted only when an error is thrown, so decoding stays cheap.
    let place: Place
    /// Offset of the window's first byte within the outer blob.
    public let base: Int

    public init(_ bytes: [UInt8], context: String, base: Int = 0) {
        self.init(storage: bytes, start: 0, count: bytes.count, place: .named(context), base: base)
    }

    init(storage: [UInt8], start: Int, count: Int, place: Place, base: Int) {
        self.storage = storage
        self.start = start
        self.count = count
        self.place = place
        self.base = base
    }

    /// Name of the structure being read, as errors show it.
    public var context: String { place.description }

    /// The same bytes, read as another structure.
    func named(_ place: Place) -> ByteReader {
        ByteReader(storage: storage, start: start, count: count, place: place, base: base)
    }

    enum Place: Sendable, CustomStringConvertible {
        case named(String)
        case capability(id: UInt16, at: Int)
        case nesting(NestingInfo.Revision, vendor: Bool)

        var description: String {
            switch self {
            case .named(let s): return s
            case .capability(let id, let at): return "capability id \(id) at \(at)"
            case .nesting(let rev, let vendor): return "iommu_nesting_info (\(rev.rawValue))" + (vendor ? " VT-d data" : "")
            }
        }
    }

    /// The window's bytes.
    public var bytes: ArraySlice<UInt8> { storage[start..<(start + count)] }

    @inline(__always)
    func need(_ offset: Int, _ size: Int, _ field: @autoclosure () -> String) throws(DecodeError) {
        guard offset >= 0, size >= 0, offset <= count - size else {
            throw DecodeError(.truncated, offset: base + offset,
                              expected: "\(size) byte\(size == 1 ? "" : "s") of \(field())",
                              found: "\(max(0, count - offset)) left", context: context)
        }
    }

    @inline(__always)
    public func u8(_ offset: Int, _ field: @autoclosure () -> String) throws(DecodeError) -> UInt8 {
        try need(offset, 1, field())
        return storage[start + offset]
    }

    @inline(__always)
    public func u16(_ offset: Int, _ field: @autoclosure () -> String) throws(DecodeError) -> UInt16 {
        try need(offset, 2, field())
        let p = start + offset
        return UInt16(storage[p]) | UInt16(storage[p + 1]) << 8
    }

    @inline(__always)
    public func u32(_ offset: Int, _ field: @autoclosure () -> String) throws(DecodeError) -> UInt32 {
        try need(offset, 4, field())
        let p = start + offset
        return UInt32(storage[p]) | UInt32(storage[p + 1]) << 8 | UInt32(storage[p + 2]) << 16 | UInt32(storage[p + 3]) << 24
    }

    @inline(__always)
    public func u64(_ offset: Int, _ field: @autoclosure () -> String) throws(DecodeError) -> UInt64 {
        try need(offset, 8, field())
        let p = start + offset
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(storage[p + i]) }
        return v
    }

    /// A sub-window; offsets in its errors stay absolute.
    public func slice(_ offset: Int, _ size: Int, _ field: @autoclosure () -> String, context: String? = nil) throws(DecodeError) -> ByteReader {
        try slice(offset, size, field(), place: context.map(Place.named) ?? place)
    }

    @inline(__always)
    func slice(_ offset: Int, _ size: Int, _ field: @autoclosure () -> String, place: Place) throws(DecodeError) -> ByteReader {
        try need(offset, size, field())
        return ByteReader(storage: storage, start: start + offset, count: size, place: place, base: base + offset)
    }

    /// Throws `badValue` unless the `size` bytes at `offset` are all zero (reserved fields).
    @inline(__always)
    public func requireZero(_ offset: Int, _ size: Int, _ field: @autoclosure () -> String) throws(DecodeError) {
        try need(offset, size, field())
        for i in offset..<(offset + size) where storage[start + i] != 0 {
            throw DecodeError(.badValue, offset: base + i, expected: "zero in \(field())",
                              found: hex(UInt64(storage[start + i])), context: context)
        }
    }

    @inline(__always)
    public func allZero(_ offset: Int, _ size: Int) -> Bool {
        guard offset >= 0, size >= 0, offset <= count - size else { return false }
        for i in offset..<(offset + size) where storage[start + i] != 0 { return false }
        return true
    }
}

/// `0x`-prefixed lowercase hex, the one spelling capreg uses for register values and bitmaps.
public func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
