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
        RegisterField("amd.efr2.gcr3trpmode", bit: 3, "GCR3TRPMODE: GCR3 table root pointer mode (position unverified)."),
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
        out.append(Fact("amd.guest_levels", int: gats == 0 ? 4 : gats == 1 ? 5 : 0))
        if gt { out.append(Fact("amd.pasid_bits", int: pasmax + 1)) }

        let nesting = gt && gio
        out.append(Fact(CrossVendor.vendor, text: "amd"))
        if let hostLevels { out.append(Fact(CrossVendor.addrWidth, int: min(64, 12 + 9 * hostLevels))) }
        if gt { out.append(Fact(CrossVendor.pasidBits, int: pasmax + 1)) }
        out.append(Fact(CrossVendor.nesting, nesting))
        out.append(Fact(CrossVendor.pasidBind, nesting && pasmax > 0))
        out.append(Fact(CrossVendor.firstLevelFormat, text: gt ? CrossVendor.Format.amdV2 : CrossVendor.Format.none))
        return out
    }

    /// sysfs `amd-iommu/features` (§5.2): one value is EFR (≤ 5.19); two values joined by `:` are EFR2:EFR
    /// on 6.0 and EFR:EFR2 on later kernels, the release of the swap being unverified. So 6.0 reads
    /// EFR2:EFR, ≤ 5.19 rejects a pair, and anything else decides by shape — a real EFR has many low
    /// feature bits set, EFR2 few — and says so in `note`, or refuses when the shape does not tell.
    public static func parseSysfsFeatures(_ text: String, kernel: KernelRelease?) throws(DecodeError) -> (efr: UInt64, efr2: UInt64?, note: String?) {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return (try BlobText.register(String(parts[0]), name: "AMD features (EFR)"), nil, nil)
        case 2:
            let a = try BlobText.register(String(parts[0]), name: "AMD features (first value)")
            let b = try BlobText.register(String(parts[1]), name: "AMD features (second value)")
            if let kernel, !kernel.atLeast(6, 0) {
                throw DecodeError(.badText, offset: 0, expected: "a single EFR value on kernel \(kernel) (pairs appeared in 6.0)",
                                  found: "\"\(text.prefix(40))\"", context: "AMD features")
            }
            if let kernel, kernel.major == 6, kernel.minor == 0 { return (b, a, nil) }
            let aLow = (a & 0x3ff).nonzeroBitCount, bLow = (b & 0x3ff).nonzeroBitCount
            guard aLow != bLow else {
                throw DecodeError(.badValue, offset: 0, expected: "an EFR:EFR2 pair whose order can be told (give the kernel release)",
                                  found: "\"\(text.prefix(40))\"", context: "AMD features")
            }
            let note = "EFR/EFR2 order in sysfs features chosen by shape (the value with more low feature bits is EFR)"
                + (kernel.map { " on kernel \($0)" } ?? "; no kernel release given")
            return aLow > bLow ? (a, b, note) : (b, a, note)
        default:
            throw DecodeError(.badText, offset: 0, expected: "EFR, or EFR and EFR2 joined by `:`", found: "\"\(text.prefix(40))\"", context: "AMD features")
        }
    }

    public static let vocabulary: [VocabularyEntry] = [
        VocabularyEntry("amd.efr", .text, "The whole Extended Feature Register, hex (the kernel's global value; it may come from the ACPI IVHD).", source: "AMD EFR (MMIO 0x30; sysfs amd-iommu/features)"),
        VocabularyEntry("amd.efr2", .text, "The whole Extended Feature 2 Register, hex (6.0+ kernels).", source: "AMD EFR2 (MMIO 0x1A0)"),
    ] + efrFields.vocabulary(register: "AMD EFR") + efr2Fields.vocabulary(register: "AMD EFR2") + [
        VocabularyEntry("amd.host_levels", .int, "Host (v1) page-table levels; absent when HATS = 3 (invalid).", source: "EFR.HATS + 4"),
        VocabularyEntry("amd.guest_levels", .int, "Guest (v2) page-table levels (0 when GATS is reserved).", source: "EFR.GATS: 0 → 4, 1 → 5"),
        VocabularyEntry("amd.pasid_bits", .int, "PASID width in bits; absent without guest translation (GTSup).", source: "EFR.PASmax + 1"),
    ]
}
