/// The one entry point from "bytes of some kind" to facts: what `capreg decode` and the fuzz targets call.
public enum BlobKind: String, Sendable, CaseIterable {
    case vfioInfo = "vfio-info"
    case nestingInfo = "nesting-info"
    case iommufdHWInfo = "iommufd-hw-info"
    case vtdRegs = "vtd-regs"
    case amdEFR = "amd-efr"
    case smmuv3IDR = "smmuv3-idr"

    /// The byte layout each kind expects, for help text and errors.
    public var layout: String {
        switch self {
        case .vfioInfo: return "the whole VFIO_IOMMU_GET_INFO buffer (struct vfio_iommu_type1_info and its capability chain)"
        case .nestingInfo: return "a bare struct iommu_nesting_info (any revision of the nesting series)"
        case .iommufdHWInfo: return "struct iommu_hw_info as returned, immediately followed by the type-specific data"
        case .vtdRegs: return "16 bytes: CAP then ECAP, little-endian u64 — or the two registers as hex text (sysfs form)"
        case .amdEFR: return "8 or 16 bytes: EFR then EFR2, little-endian u64 — or the sysfs `features` text"
        case .smmuv3IDR: return "40 bytes as struct iommu_hw_info_arm_smmuv3 (flags, reserved, IDR0–IDR5, IIDR, AIDR)"
        }
    }
}

public struct DecodedBlob: Sendable {
    public var kind: BlobKind
    public var facts: [Fact]
    public var notes: [String]
    /// For `vfio-info`: the decoded buffer, to show the chain.
    public var vfio: VFIOInfo?
    /// For `nesting-info` when several revisions fit with different meanings.
    public var candidates: [NestingInfo]
}

public enum BlobDecoder {
    /// `text` is the input as text when it is text (register kinds accept sysfs hex words).
    public static func decode(_ kind: BlobKind, bytes: [UInt8], registerText: String? = nil, kernel: KernelRelease? = nil,
                              revision: NestingInfo.Revision? = nil) throws(DecodeError) -> DecodedBlob {
        var out = DecodedBlob(kind: kind, facts: [], notes: [], vfio: nil, candidates: [])
        switch kind {
        case .vfioInfo:
            let info = try VFIOInfo.decode(bytes, kernel: kernel)
            out.vfio = info
            out.facts = info.facts
            out.notes = info.capabilities.flatMap { cap in cap.notes.map { "capability id \(cap.id) at \(cap.offset): \($0)" } }
        case .nestingInfo:
            switch try NestingInfo.detect(bytes, revision: revision) {
            case .decoded(let info): out.facts = info.facts
            case .ambiguous(let candidates):
                out.candidates = candidates
                out.notes = ["fits revisions \(candidates.map(\.revision.rawValue).joined(separator: ", ")) with different meanings; give --revision"]
            }
        case .iommufdHWInfo:
            let info = try IOMMUFDHWInfo.decode(bytes)
            out.facts = info.facts
            out.notes = info.notes
        case .vtdRegs:
            if let words = registerText.flatMap(hexWords), words.count == 2 {
                out.facts = try VTdRegisters.decode(capText: words[0], ecapText: words[1])
            } else {
                let r = ByteReader(bytes, context: "vtd-regs")
                try requireCount(r, [16])
                out.facts = VTdRegisters.decode(cap: try r.u64(0, "CAP"), ecap: try r.u64(8, "ECAP"))
            }
        case .amdEFR:
            if let text = registerText, let words = hexWords(text), words.count == 1 {
                let parsed = try AMDRegisters.parseSysfsFeatures(words[0], kernel: kernel)
                out.facts = AMDRegisters.decode(efr: parsed.efr, efr2: parsed.efr2)
                if let note = parsed.note { out.notes.append(note) }
            } else {
                let r = ByteReader(bytes, context: "amd-efr")
                try requireCount(r, [8, 16])
                out.facts = AMDRegisters.decode(efr: try r.u64(0, "EFR"), efr2: r.count == 16 ? try r.u64(8, "EFR2") : nil)
            }
        case .smmuv3IDR:
            out.facts = try SMMUv3Registers.decodeBytes(bytes)
        }
        return out
    }

    static func requireCount(_ r: ByteReader, _ sizes: [Int]) throws(DecodeError) {
        guard sizes.contains(r.count) else {
            throw DecodeError(.sizeMismatch, offset: min(r.count, sizes.max()!),
                              expected: sizes.map(String.init).joined(separator: " or ") + " bytes", found: "\(r.count)", context: r.context)
        }
    }

    /// Register text: whitespace-separated hex words (sysfs form, `0x` optional; AMD's `a:b` stays one word).
    /// nil when the text has anything else in it.
    public static func hexWords(_ text: String) -> [String]? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard !words.isEmpty, words.allSatisfy({ w in
            let body = w.hasPrefix("0x") || w.hasPrefix("0X") ? w.dropFirst(2) : Substring(w)
            return !body.isEmpty && body.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "x" }
        }) else { return nil }
        return words
    }
}
