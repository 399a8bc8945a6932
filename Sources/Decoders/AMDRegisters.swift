import Foundation

/// AMD-Vi Extended Feature Registers EFR (MMIO 0x30) and EFR2 (MMIO 0x1A0), fact sheet §6.1,
/// bit positions as drivers/iommu/amd/amd_iommu_types.h reads them.
public enum AMDRegisters {
    static let efrFields: [RegisterField] = [
        RegisterField("amd.efr.pref", bit: 0, "PreFSup: prefetch commands."),
        RegisterField("amd.efr.ppr", bit: 1, "PPRSup: peripheral page requests (I/O page faults; needed for SVA)."),
        RegisterField("amd.efr.xt", bit: 2, "XTSup: x2APIC interrupt remapping."),
        RegisterField("amd.efr.nx", bit: 3, "NXSup: no-execute protection."),
        RegisterField("amd.efr.gt", bit: 4, "GTSup: guest translation (v2 / GCR3 page tables, PASID)."),
        RegisterField("amd.efr.ia", bit: 6, "IASup: INVALIDATE_IOMMU_ALL command."),
        RegisterField("amd.efr.ga", bit: 7, "GASup: guest virtual APIC (AVIC)."),
        RegisterField("amd.efr.he", bit: 8, "HESup: hardware error registers."),
        RegisterField("amd.efr.pc", bit: 9, "PCSup: performance counters."),
        RegisterField("amd.efr.hats", bits: 10...11, "HATS: host (v1) page-table levels, encoded: levels = HATS + 4; 3 is invalid (see amd.host_levels)."),
        RegisterField("amd.efr.gats", bits: 12...13, "GATS: guest (v2) page-table levels, encoded: 0 = 4-level, 1 = 5-level (see amd.guest_levels)."),
        RegisterField("amd.efr.glx", bits: 14...15, "GLXSup: GCR3 table levels supported."),
        RegisterField("amd.efr.gam", bit: 21, "GAMSup: guest virtual APIC mode."),
        RegisterField("amd.efr.pasmax", bits: 32...36, "PASmax: PASID width − 1 (see amd.pasid_bits)."),
        RegisterField("amd.efr.msicapmmio", bit: 46, "MsiCapMmioSup: MSI capability MMIO access."),
        RegisterField("amd.efr.gio", bit: 48, "GIoSup: guest I/O protection (v2 tables for DMA without PASID)."),
        RegisterField("amd.efr.ha", bit: 49, "HASup: host access."),
        RegisterField("amd.efr.eph", bit: 50, "EPHSup: enhanced PPR handling."),
        RegisterField("amd.efr.hd", bit: 52, "HDSup: host dirty tracking."),
        RegisterField("amd.efr.snp", bit: 63, "SNPSup: SEV-SNP support."),
    ]

    static let efr2Fields: [RegisterField] = [
        RegisterField("amd.efr2.sevsnpio", bit: 1, "SEVSNPIO_SUP: SEV-SNP for I/O (position unverified: seen only in third-party copies of the header)."),
        RegisterField("amd.efr2.gcr3trpmode", bit: 3, "GCR3TRPMODE: the device table's GCR3 table root pointer may hold a guest physical address; the kernel's nested translation requires it (see amd.nest_parent_supported)."),
        RegisterField("amd.efr2.gappidis", bit: 4, "GAPPIDISSUP: guest-mode interrupt remapping entries can disable the GA physical-processor interrupt (GAPPI)."),
        RegisterField("amd.efr2.snpavic", bits: 5...7, "SNPAVICSUP: SNP AVIC support level."),
        RegisterField("amd.efr2.ht_range_ignore", bit: 11, "HT_RANGE_IGNORE: HyperTransport range ignored (position unverified)."),
    ]

    public static func decode(efr: UInt64, efr2: UInt64?) -> [Fact] {
        func field(_ low: Int, _ width: Int) -> Int { Int((efr >> UInt64(low)) & ((1 << UInt64(width)) - 1)) }
        let gt = efr & (1 << 4) != 0, gio = efr & (1 << 48) != 0
        let hats = field(10, 2), gats = field(12, 2), pasmax = field(32, 5)

        var out: [Fact] = [Fact("amd.efr", hex: efr)]
        out += efrFields.facts(efr)
        if let efr2 {
            out.append(Fact("amd.efr2", hex: efr2))
            out += efr2Fields.facts(efr2)
        }
        let hostLevels: Int? = hats == 3 ? nil : hats + 4
        if let hostLevels { out.append(Fact("amd.host_levels", int: hostLevels)) }
        if gats < 2 { out.append(Fact("amd.guest_levels", int: gats + 4)) }
        if gt { out.append(Fact("amd.pasid_bits", int: pasmax + 1)) }

        // The kernel's is_nest_parent_supported(): GTSup and GIoSup and EFR2.GCR3TRPMODE. Without EFR2 the
        // conjunction is false when an EFR bit is clear and unknown (absent) otherwise.
        let nesting: Bool? = !(gt && gio) ? false : efr2.map { $0 & (1 << 3) != 0 }
        if let nesting { out.append(Fact("amd.nest_parent_supported", nesting)) }
        out.append(Fact(CrossVendor.vendor, text: "amd"))
        if let hostLevels { out.append(Fact(CrossVendor.addrWidth, int: min(64, 12 + 9 * hostLevels))) }
        if gt { out.append(Fact(CrossVendor.hw(CrossVendor.pasidBits), int: pasmax + 1)) }
        if let nesting { out.append(Fact(CrossVendor.hw(CrossVendor.nesting), nesting)) }
        let pasidBind: Bool? = pasmax == 0 ? false : nesting
        if let pasidBind { out.append(Fact(CrossVendor.hw(CrossVendor.pasidBind), pasidBind)) }
        out.append(Fact(CrossVendor.hw(CrossVendor.firstLevelFormat), text: gt ? CrossVendor.Format.amdV2 : CrossVendor.Format.none))
        out.append(Fact(CrossVendor.hw(CrossVendor.dirtyTracking), efr & (1 << 52) != 0))
        return out
    }

    /// sysfs `amd-iommu/features` (§5.2): one value is EFR (≤ 5.19); two values joined by `:` are EFR2:EFR
    /// on 6.0 and EFR:EFR2 on later kernels, the release of the swap being unverified. So ≤ 5.19 rejects
    /// a pair, 6.0 reads EFR2:EFR (noting when the values' shape disagrees), and any other kernel decides
    /// by shape. Whenever the shape decided, or could not and EFR:EFR2 (today's order) was assumed,
    /// `note` says so: the order is never guessed silently.
    public static func parseSysfsFeatures(_ text: String, kernel: KernelRelease?) throws(DecodeError) -> (efr: UInt64, efr2: UInt64?, note: String?) {
        let bytes = Array(text.utf8)
        let colons = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") }
        guard let colon = colons.first else {
            return (try BlobText.register(text, name: "AMD features (EFR)"), nil, nil)
        }
        guard colons.count == 1 else {
            throw DecodeError(.badText, offset: colons[1], expected: "EFR, or EFR and EFR2 joined by one `:`", found: "\"\(text.prefix(40))\"", context: "AMD features")
        }
        let a = try BlobText.register(String(decoding: bytes[..<colon], as: UTF8.self), name: "AMD features (first value)")
        let b: UInt64
        do { b = try BlobText.register(String(decoding: bytes[(colon + 1)...], as: UTF8.self), name: "AMD features (second value)") } catch {
            var moved = error  // offsets count from the start of the whole text
            moved.offset += colon + 1
            throw moved
        }
        if let kernel, !kernel.atLeast(6, 0) {
            throw DecodeError(.badText, offset: colon, expected: "a single EFR value on kernel \(kernel) (pairs appeared in 6.0)",
                              found: "\"\(text.prefix(40))\"", context: "AMD features")
        }
        let shape = efrByShape(a, b)
        if let kernel, kernel.major == 6, kernel.minor == 0 {
            let note = shape == .first ? "sysfs features read as EFR2:EFR (kernel 6.0), although the first value looks like the EFR" : nil
            return (b, a, note)
        }
        let on = kernel.map { " on kernel \($0)" } ?? " (no kernel release given)"
        switch shape {
        case .first: return (a, b, "EFR:EFR2 order of sysfs features chosen by the values' shape\(on)")
        case .second: return (b, a, "EFR2:EFR order of sysfs features chosen by the values' shape\(on)")
        case nil: return (a, b, "EFR/EFR2 order of sysfs features is ambiguous\(on): the values' shape does not tell; read as EFR:EFR2 (the current kernel order)")
        }
    }

    enum Which { case first, second }

    /// Which of two values is the EFR by shape (§5.2): a real EFR has more of the low feature bits 9:0
    /// (PreF, PPR, XT, NX, GT, IA, GA, HE, PC) set and is the larger number; EFR2 is small. nil when the
    /// two signs disagree or tie.
    static func efrByShape(_ a: UInt64, _ b: UInt64) -> Which? {
        let aLow = (a & 0x3ff).nonzeroBitCount, bLow = (b & 0x3ff).nonzeroBitCount
        if aLow > bLow && a > b { return .first }
        if bLow > aLow && b > a { return .second }
        return nil
    }

    public static let vocabulary: [VocabularyEntry] = [
        VocabularyEntry("amd.efr", .text, "The whole Extended Feature Register, hex (the kernel's global value; it may come from the ACPI IVHD).", source: "AMD EFR (MMIO 0x30; sysfs amd-iommu/features)"),
        VocabularyEntry("amd.efr2", .text, "The whole Extended Feature 2 Register, hex (6.0+ kernels).", source: "AMD EFR2 (MMIO 0x1A0)"),
    ] + efrFields.vocabulary(register: "AMD EFR") + efr2Fields.vocabulary(register: "AMD EFR2") + [
        VocabularyEntry("amd.host_levels", .int, "Host (v1) page-table levels; absent when HATS = 3 (invalid).", source: "EFR.HATS + 4"),
        VocabularyEntry("amd.guest_levels", .int, "Guest (v2) page-table levels; absent when GATS holds a reserved value (2, 3).", source: "EFR.GATS: 0 → 4, 1 → 5"),
        VocabularyEntry("amd.pasid_bits", .int, "PASID width in bits; absent without guest translation (GTSup).", source: "EFR.PASmax + 1"),
        VocabularyEntry("amd.nest_parent_supported", .bool,
                        "The IOMMU has what the kernel requires to allocate a nest parent (the host stage of nested translation): guest translation, guest I/O protection and GCR3 root-pointer mode. False when EFR.GTSup or EFR.GIoSup is clear; absent when both are set but EFR2 was not reported (kernels before 6.0 print EFR only).",
                        source: "EFR.GTSup (bit 4) and EFR.GIoSup (bit 48) and EFR2.GCR3TRPMODE (bit 3): is_nest_parent_supported() in drivers/iommu/amd/iommu.c (AMD nested-translation series, 2025)"),
    ]
}
