import Testing
@testable import Decoders

/// Fixtures come from the fact sheet (§6.1 bit positions, §5.2 sysfs forms, §5.4 boot-log example).
@Suite struct AMDRegistersTests {
    func facts(_ efr: UInt64, _ efr2: UInt64? = nil) -> [String: FactValue] {
        Dictionary(uniqueKeysWithValues: AMDRegisters.decode(efr: efr, efr2: efr2).map { ($0.name, $0.value) })
    }

    // §6.1, copied from the fact sheet: (name, low bit, width).
    static let efrTable: [(String, Int, Int)] = [
        ("pref", 0, 1), ("ppr", 1, 1), ("xt", 2, 1), ("nx", 3, 1), ("gt", 4, 1), ("ia", 6, 1), ("ga", 7, 1), ("he", 8, 1),
        ("pc", 9, 1), ("hats", 10, 2), ("gats", 12, 2), ("glx", 14, 2), ("gam", 21, 1), ("pasmax", 32, 5), ("msicapmmio", 46, 1),
        ("gio", 48, 1), ("ha", 49, 1), ("eph", 50, 1), ("hd", 52, 1), ("snp", 63, 1),
    ]
    static let efr2Table: [(String, Int, Int)] = [("sevsnpio", 1, 1), ("gcr3trpmode", 3, 1), ("snpavic", 5, 3), ("ht_range_ignore", 11, 1)]

    @Test(arguments: [("amd.efr", true), ("amd.efr2", false)])
    func everyFieldAtItsPosition(prefix: String, isEFR: Bool) {
        let table = isEFR ? Self.efrTable : Self.efr2Table
        for (name, low, width) in table {
            let ones: UInt64 = (1 << UInt64(width)) - 1
            let f = isEFR ? facts(ones << UInt64(low), 0) : facts(0, ones << UInt64(low))
            for (other, _, otherWidth) in table {
                let expected: FactValue = other == name ? (width == 1 ? .bool(true) : .int(Int64(ones)))
                                                        : (otherWidth == 1 ? .bool(false) : .int(0))
                #expect(f["\(prefix).\(other)"] == expected, "\(name) set: \(prefix).\(other)")
            }
        }
        let emitted = Set(facts(0, 0).keys.filter { $0.hasPrefix(prefix + ".") })
        #expect(emitted == Set(table.map { "\(prefix).\($0.0)" }))
    }

    /// EFR2 fields whose position is unverified say so in the vocabulary.
    @Test func unverifiedEFR2PositionsAreMarked() {
        for name in ["amd.efr2.sevsnpio", "amd.efr2.gcr3trpmode", "amd.efr2.ht_range_ignore"] {
            #expect(Vocabulary.entry(name)?.meaning.contains("position unverified") == true, "\(name)")
        }
        #expect(Vocabulary.entry("amd.efr2.snpavic")?.meaning.contains("unverified") == false)
    }

    /// The EFR from the fact sheet's boot-log example: 0x206d73ef22254ade, names PPR X2APIC NX GT IA GA PC GA_vAPIC.
    @Test func bootLogExampleMatchesItsNames() {
        let f = facts(0x206d_73ef_2225_4ade)
        #expect(f["amd.efr"] == .text("0x206d73ef22254ade"))
        #expect(f["amd.efr2"] == nil)
        #expect(f["amd.efr.pref"] == .bool(false))
        #expect(f["amd.efr.ppr"] == .bool(true))
        #expect(f["amd.efr.xt"] == .bool(true))
        #expect(f["amd.efr.nx"] == .bool(true))
        #expect(f["amd.efr.gt"] == .bool(true))
        #expect(f["amd.efr.ia"] == .bool(true))
        #expect(f["amd.efr.ga"] == .bool(true))
        #expect(f["amd.efr.he"] == .bool(false))
        #expect(f["amd.efr.pc"] == .bool(true))
        #expect(f["amd.efr.gam"] == .bool(true))
        #expect(f["amd.efr.snp"] == .bool(false))
        #expect(f["amd.efr.hats"] == .int(2))           // bits 11:10 of 0x4ade
        #expect(f["amd.host_levels"] == .int(6))
        #expect(f["amd.efr.gats"] == .int(0))           // bits 13:12 of 0x4ade
        #expect(f["amd.guest_levels"] == .int(4))
        #expect(f["amd.efr.glx"] == .int(1))            // bits 15:14 of 0x4ade
        #expect(f["amd.efr.pasmax"] == .int(0xf))       // bits 36:32: 0xef & 0x1f
        #expect(f["amd.pasid_bits"] == .int(16))
        #expect(f["amd.efr.gio"] == .bool(true))        // bit 48: bit 0 of 0x206d
        #expect(f["amd.efr.hd"] == .bool(false))        // bit 52: bit 4 of 0x206d
        #expect(f["iommu.vendor"] == .text("amd"))
        #expect(f["addr_width"] == .int(64))            // 6 levels
        #expect(f["hw.pasid_bits"] == .int(16))
        #expect(f["hw.nesting"] == .bool(true))            // GT and GIo
        #expect(f["hw.pasid_bind"] == .bool(true))
        #expect(f["hw.first_level.format"] == .text("amd-v2"))
    }

    @Test func composedFields() {
        let efr: UInt64 = (1 << 4)       // GTSup
            | (1 << 48)                   // GIoSup
            | (UInt64(1) << 10)           // HATS 1 → 5 levels
            | (UInt64(1) << 12)           // GATS 1 → 5-level guest tables
            | (UInt64(19) << 32)          // PASmax 19 → 20 bits
        let f = facts(efr, UInt64(5) << 5)  // EFR2 SNPAVIC 5
        #expect(f["amd.efr2"] == .text("0xa0"))
        #expect(f["amd.host_levels"] == .int(5))
        #expect(f["amd.guest_levels"] == .int(5))
        #expect(f["addr_width"] == .int(57))
        #expect(f["hw.pasid_bits"] == .int(20))
        #expect(f["hw.nesting"] == .bool(true))
        #expect(f["hw.pasid_bind"] == .bool(true))
        #expect(f["amd.efr2.snpavic"] == .int(5))
    }

    @Test func levelsAndAbsentFacts() {
        #expect(facts(0)["amd.host_levels"] == .int(4), "HATS 0 → 4 levels")
        #expect(facts(0)["addr_width"] == .int(48))
        #expect(facts(3 << 10)["amd.host_levels"] == nil, "HATS 3 is invalid")
        #expect(facts(3 << 10)["addr_width"] == nil)
        #expect(facts(2 << 12)["amd.guest_levels"] == nil, "GATS 2 is reserved")
        #expect(facts(0)["hw.nesting"] == .bool(false))
        #expect(facts(0)["hw.pasid_bits"] == nil, "no GT: unknown, not zero")
        #expect(facts(0)["amd.pasid_bits"] == nil)
        #expect(facts(0)["hw.first_level.format"] == .text("none"))
        #expect(facts(1 << 4)["hw.nesting"] == .bool(false), "GT without GIo")
        #expect(facts((1 << 4) | (1 << 48))["hw.pasid_bind"] == .bool(false), "PASmax 0")
        #expect(facts((1 << 4) | (1 << 48))["amd.pasid_bits"] == .int(1))
    }

    // §5.2 sysfs `features`.

    @Test func sysfsSingleValueIsEFR() throws {
        let p = try AMDRegisters.parseSysfsFeatures("206d73ef22254ade\n", kernel: KernelRelease("5.15.0"))
        #expect(p.efr == 0x206d_73ef_2225_4ade && p.efr2 == nil && p.note == nil)
        let q = try AMDRegisters.parseSysfsFeatures("206d73ef22254ade", kernel: nil)
        #expect(q.efr == 0x206d_73ef_2225_4ade && q.efr2 == nil && q.note == nil)
    }

    @Test func sysfsPairOn60IsEFR2First() throws {
        let p = try AMDRegisters.parseSysfsFeatures("1:206d73ef22254ade\n", kernel: KernelRelease("6.0.12"))
        #expect(p.efr == 0x206d_73ef_2225_4ade && p.efr2 == 1 && p.note == nil)
        // The kernel's order wins, but a value shaped the other way is pointed out.
        let q = try AMDRegisters.parseSysfsFeatures("206d73ef22254ade:1", kernel: KernelRelease("6.0.0"))
        #expect(q.efr == 1 && q.efr2 == 0x206d_73ef_2225_4ade)
        #expect(q.note?.contains("looks like the EFR") == true)
    }

    @Test(arguments: ["6.8.0", "6.1.0-56-amd64", nil] as [String?])
    func sysfsPairLaterIsDecidedByShapeAndSaysSo(kernel: String?) throws {
        let p = try AMDRegisters.parseSysfsFeatures("206d73ef22254ade:0\n", kernel: kernel.map(KernelRelease.init))
        #expect(p.efr == 0x206d_73ef_2225_4ade && p.efr2 == 0)
        #expect(p.note?.contains("shape") == true)
        let q = try AMDRegisters.parseSysfsFeatures("a0:206d73ef22254ade", kernel: kernel.map(KernelRelease.init))
        #expect(q.efr == 0x206d_73ef_2225_4ade && q.efr2 == 0xa0)
        #expect(q.note?.contains("shape") == true)
    }

    /// Shape cannot tell (same low-bit count, or more low bits on the smaller value): decoded as
    /// EFR:EFR2 with a note saying the order is ambiguous — never silently.
    @Test(arguments: ["1:2", "0:0", "3ff:ffff0000"])
    func sysfsPairShapeCannotTellIsNotedAmbiguous(text: String) throws {
        let p = try AMDRegisters.parseSysfsFeatures(text, kernel: KernelRelease("6.12.0"))
        let parts = text.split(separator: ":").map { UInt64($0, radix: 16)! }
        #expect(p.efr == parts[0] && p.efr2 == parts[1])
        #expect(p.note?.contains("ambiguous") == true)
    }

    @Test func sysfsErrorsSayWhere() {
        func error(_ text: String, _ kernel: String?) -> DecodeError? {
            do { _ = try AMDRegisters.parseSysfsFeatures(text, kernel: kernel.map(KernelRelease.init)); return nil } catch { return error }
        }
        let old = error("206d73ef22254ade:1", "5.19.0")  // pairs appeared in 6.0: the colon is the problem
        #expect(old?.kind == .badText && old?.offset == 16)
        let three = error("a:b:c", nil)
        #expect(three?.kind == .badText && three?.offset == 3)
        let badSecond = error("206d73ef22254ade:zz", "6.8.0")
        #expect(badSecond?.kind == .badText && badSecond?.offset == 17)
        let badFirst = error("zz:1", "6.8.0")
        #expect(badFirst?.kind == .badText && badFirst?.offset == 0)
        let empty = error("", nil)
        #expect(empty?.kind == .badText && empty?.offset == 0)
        let tooLong = error("1206d73ef22254ade", nil)  // 17 digits
        #expect(tooLong?.kind == .badText && tooLong?.offset == 0)
    }
}
