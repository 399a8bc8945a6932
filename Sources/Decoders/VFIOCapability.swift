/// One capability of a VFIO type1 info chain. `bytes` always holds the whole capability, header
/// included, from its offset to the next header (or the end of argsz), so it can be decoded again.
public struct VFIOCapability: Hashable, Sendable {
    public static let idIOVARange: UInt16 = 1
    public static let idMigration: UInt16 = 2
    public static let idDMAAvail: UInt16 = 3
    public static let idNestingV8: UInt16 = 4

    public struct Migration: Hashable, Sendable {
        public var flags: UInt32
        public var pgsizeBitmap: UInt64
        public var maxDirtyBitmapSize: UInt64
        /// The 28-byte layout of i386 kernels (u64s only 4-aligned).
        public var i386 = false
    }

    public enum Content: Hashable, Sendable {
        case iovaRange([IOVARange])
        case migration(Migration)
        case dmaAvail(UInt32)
        indirect case nesting(NestingInfo)
        /// Nesting series v1: bare capability words under id 2.
        case nestingV1(capabilities: UInt32, stage1Formats: UInt32?)
        /// Several layouts fit with different meanings; each candidate is named. Raw bytes only.
        case ambiguous([String])
        /// No known layout fits; the reason says why. Raw bytes only.
        case unknown(String)
    }

    public var id: UInt16
    public var version: UInt16
    public var offset: Int
    public var next: UInt32
    public var bytes: ArraySlice<UInt8>
    public var content: Content
    /// Remarks a reader should see: a layout unusual for the kernel release, a choice made by kernel release.
    public var notes: [String]

    public var name: String {
        switch content {
        case .iovaRange: return "iova_range"
        case .migration: return "migration"
        case .dmaAvail: return "dma_avail"
        case .nesting, .nestingV1: return "nesting"
        case .ambiguous: return "ambiguous-\(id)"
        case .unknown: return "unknown-\(id)"
        }
    }

    static func decode(id: UInt16, version: UInt16, offset: Int, next: UInt32, _ r: ByteReader,
                       kernel: KernelRelease?) throws(DecodeError) -> VFIOCapability {
        var notes: [String] = []
        let content: Content
        if version != 1 {
            content = .unknown("capability version \(version) is not a known layout (every known one is 1)")
        } else if id == idIOVARange {
            content = .iovaRange(try decodeIOVARange(r))
        } else if id == idMigration || id == idDMAAvail || id == idNestingV8 {
            content = CapabilityIDs.resolve(id: id, r, kernel: kernel, notes: &notes)
        } else {
            content = .unknown("capability id \(id) is not known to this decoder")
        }
        return VFIOCapability(id: id, version: version, offset: offset, next: next, bytes: r.bytes, content: content, notes: notes)
    }

    /// IOVA_RANGE: +8 nr_iovas, +12 reserved, +16 ranges of {start, end (inclusive)}.
    static func decodeIOVARange(_ r: ByteReader) throws(DecodeError) -> [IOVARange] {
        let count = Int(try r.u32(8, "nr_iovas"))
        guard count <= (r.count - 16) / 16 else {
            throw DecodeError(.truncated, offset: r.base + 16, expected: "\(count) ranges of 16 bytes within the capability's \(r.count) bytes (it would overlap what follows)",
                              found: "room for \(max(0, (r.count - 16) / 16))", context: r.context)
        }
        var ranges: [IOVARange] = []
        ranges.reserveCapacity(count)
        for i in 0..<count {
            let start = try r.u64(16 + 16 * i, "iova_ranges[\(i)].start")
            let end = try r.u64(24 + 16 * i, "iova_ranges[\(i)].end")
            guard start <= end else {
                throw DecodeError(.badValue, offset: r.base + 16 + 16 * i, expected: "start <= end (end is inclusive)",
                                  found: "\(hex(start)) > \(hex(end))", context: r.context)
            }
            ranges.append(IOVARange(start: start, end: end))
        }
        return ranges
    }

    public var facts: [Fact] {
        switch content {
        case .iovaRange(let ranges):
            var out = [Fact("vfio.iova_ranges", int: ranges.count), Fact(VFIOInfo.iovaWindows, text: IOVAWindows.text(ranges))]
            if let top = ranges.map(\.end).max() {
                out.append(Fact("vfio.iova_top", hex: top))
                out.append(Fact("vfio.iova_top_bits", int: 64 - top.leadingZeroBitCount))
            }
            return out
        case .migration(let m):
            return [Fact("vfio.migration.flags", hex: UInt64(m.flags)),
                    Fact("vfio.migration.pgsize_bitmap", hex: m.pgsizeBitmap),
                    Fact("vfio.migration.max_dirty_bitmap_size", int: min(m.maxDirtyBitmapSize, UInt64(Int64.max)))]
        case .dmaAvail(let avail):
            return [Fact("vfio.dma_avail", int: avail)]
        case .nesting(let info):
            return info.facts
        case .nestingV1(let caps, let formats):
            var out = [Fact("nesting.revision", text: "v1"), Fact("nesting.pasid_reqs", caps & 1 != 0)]
            if let formats { out.append(Fact("nesting.stage1_formats", hex: UInt64(formats))) }
            return out
        case .ambiguous, .unknown:
            return []
        }
    }
}
