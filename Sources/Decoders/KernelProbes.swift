import Foundation

/// What the collector asked the kernel and how the kernel answered (report source kind `probe`): the
/// evidence behind the usable half of each placement-facing fact. Raw: a JSON object of probe key →
/// outcome, each outcome `ok`, `skipped` (a prerequisite failed, so it was not asked), an errno name
/// (`EINVAL`, `EOPNOTSUPP`), or a decimal answer (`VFIO_CHECK_EXTENSION`'s 0/1, a count).
///
/// Every known key becomes the text fact `probe.KEY` holding the outcome exactly; the zero-size iommufd
/// command probes (`iommufd.cmd.0x80` …) are summarised as `probe.iommufd.commands`. Keys this decoder
/// does not know (a newer collector) are kept in the raw bytes and noted, never guessed at.
public enum KernelProbes {
    /// Bounds on what a report may carry here (a probe map is small: about 40 keys).
    public static let maxKeys = 128
    public static let maxKeyLength = 64
    public static let maxOutcomeLength = 32

    public enum Outcome: Hashable, Sendable {
        case ok
        case skipped
        case errno(String)
        case answer(Int64)

        public init?(_ text: String) {
            if text == "ok" { self = .ok; return }
            if text == "skipped" { self = .skipped; return }
            let bytes = Array(text.utf8)
            if bytes.count >= 2, bytes[0] == UInt8(ascii: "E"),
               bytes.dropFirst().allSatisfy({ ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }) {
                self = .errno(text)
                return
            }
            if !bytes.isEmpty, bytes.count <= 18, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let n = Int64(text) {
                self = .answer(n)
                return
            }
            return nil
        }
    }

    /// Keys whose outcome becomes a `probe.KEY` fact, with what each asks. Order is documentation order.
    public static let keys: [(key: String, meaning: String)] = {
        var out: [(String, String)] = [
            ("vfio.open_container", "open(/dev/vfio/vfio): the VFIO container device (ENOENT: no VFIO in this kernel; EACCES/EPERM: not root)."),
            ("vfio.open_group", "open(/dev/vfio/N) of the probed group (EBUSY: a VM holds it, so nothing was asked of it)."),
        ]
        for n in 1...12 {
            out.append(("vfio.check_extension.\(n)", "VFIO_CHECK_EXTENSION(\(n)) on a private container: the kernel's answer (1 or 0). For 6 (TYPE1_NESTING) 1 never meant nesting works."))
        }
        for (n, name) in [(1, "VFIO_TYPE1_IOMMU"), (3, "VFIO_TYPE1v2_IOMMU"), (6, "VFIO_TYPE1_NESTING_IOMMU")] {
            out.append(("vfio.set_iommu.\(n)", "VFIO_SET_IOMMU(\(name)) on the private container: ok or the errno (from 6.13, 6 is accepted as an alias of 3)."))
        }
        out += [
            ("iommufd.open", "open(/dev/iommu) (ENOENT: the kernel has no iommufd; EACCES/EPERM: not root)."),
            ("iommufd.devices", "Number of vfio device cdevs under /dev/vfio/devices (0: no device bound to a vfio driver; ENOENT: no cdev support or none bound)."),
            ("iommufd.open_device", "open of the probed device's cdev /dev/vfio/devices/vfioN."),
            ("iommufd.bind", "VFIO_DEVICE_BIND_IOMMUFD of the probed device (EBUSY: a VM or another process uses it)."),
            ("iommufd.ioas_alloc", "IOMMU_IOAS_ALLOC (freed at once)."),
            ("iommufd.hwpt_alloc.plain", "IOMMU_HWPT_ALLOC with flags 0 on the IOAS (freed at once; nothing is attached)."),
            ("iommufd.hwpt_alloc.nest_parent", "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_NEST_PARENT (1<<0): ok means this kernel and IOMMU give a VM nested translation."),
            ("iommufd.hwpt_alloc.dirty_tracking", "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_DIRTY_TRACKING (1<<1)."),
            ("iommufd.hwpt_alloc.pasid", "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_PASID (1<<3, 6.15+): a HWPT that may be attached to a PASID."),
            ("iommufd.viommu_alloc", "IOMMU_VIOMMU_ALLOC on the nest parent (6.13+; skipped without a nest parent or when the command is unknown)."),
            ("iommufd.vdevice_alloc", "IOMMU_VDEVICE_ALLOC on that vIOMMU (6.13+; skipped without a vIOMMU)."),
            ("iommufd.hw_info.input_type", "IOMMU_GET_HW_INFO with IOMMU_HW_INFO_FLAG_INPUT_TYPE asking for the Tegra241 CMDQV data (6.17+; skipped on other IOMMUs)."),
        ]
        return out
    }()

    static let knownKeys: Set<String> = Set(keys.map(\.key))
    static let commandPrefix = "iommufd.cmd.0x"

    public struct Decoded: Hashable, Sendable {
        public var entries: [String: Outcome]
        public var facts: [Fact]
        public var notes: [String]
    }

    /// Checks and decodes the raw JSON object; every refusal names the key or value at fault.
    public static func decode(_ raw: [UInt8]) throws(DecodeError) -> Decoded {
        let context = "kernel probes"
        guard let object = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any] else {
            throw DecodeError(.badText, offset: 0, expected: "a JSON object of probe name to outcome text", context: context)
        }
        guard object.count <= maxKeys else {
            throw DecodeError(.tooLarge, offset: 0, expected: "at most \(maxKeys) probes", found: String(object.count), context: context)
        }
        var entries: [String: Outcome] = [:]
        for (key, value) in object {
            guard !key.isEmpty, key.utf8.count <= maxKeyLength,
                  key.utf8.allSatisfy({ ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                                        || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") }) else {
                throw DecodeError(.badValue, offset: 0, expected: "probe names of 1–\(maxKeyLength) characters a-z 0-9 . _",
                                  found: "\"\(key.prefix(40))\"", context: context)
            }
            guard let text = value as? String, text.utf8.count <= maxOutcomeLength, let outcome = Outcome(text) else {
                throw DecodeError(.badValue, offset: 0, expected: "outcome of \(key): ok, skipped, an errno name or a decimal answer",
                                  found: "\(String(describing: value).prefix(40))", context: context)
            }
            entries[key] = outcome
        }
        var facts: [Fact] = []
        var notes: [String] = []
        var commands: [Int] = []
        var unknown: [String] = []
        for key in entries.keys.sorted() {
            let outcome = entries[key]!
            if key.hasPrefix(commandPrefix), let n = Int(key.dropFirst(commandPrefix.count), radix: 16), (0x80...0xff).contains(n) {
                // ENOTTY: the command number is unknown to this kernel; anything else means it was dispatched.
                if outcome != .errno("ENOTTY") { commands.append(n) }
            } else if knownKeys.contains(key) {
                facts.append(Fact("probe." + key, text: text(outcome)))
            } else {
                unknown.append(key)
            }
        }
        if entries.keys.contains(where: { $0.hasPrefix(commandPrefix) }) {
            facts.append(Fact("probe.iommufd.commands", text: ranges(commands)))
        }
        if !unknown.isEmpty { notes.append("probes not known to this decoder were kept raw: \(unknown.joined(separator: ", "))") }
        return Decoded(entries: entries, facts: facts, notes: notes)
    }

    public static func text(_ outcome: Outcome) -> String {
        switch outcome {
        case .ok: return "ok"
        case .skipped: return "skipped"
        case .errno(let name): return name
        case .answer(let n): return String(n)
        }
    }

    /// `0x80-0x8e,0x90` for the known command numbers; empty when none.
    static func ranges(_ numbers: [Int]) -> String {
        var out: [String] = []
        var i = 0
        let sorted = numbers.sorted()
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            let a = "0x" + String(sorted[i], radix: 16)
            out.append(i == j ? a : a + "-0x" + String(sorted[j], radix: 16))
            i = j + 1
        }
        return out.joined(separator: ",")
    }

    public static let vocabulary: [VocabularyEntry] =
        keys.map { VocabularyEntry("probe." + $0.key, .text, "Outcome: `ok`, `skipped`, an errno name or the answer. " + $0.meaning, source: "collector probe `\($0.key)`") }
        + [VocabularyEntry("probe.iommufd.commands", .text,
                           "iommufd command numbers this kernel knows, as ranges (`0x80-0x8e` on 6.12): each asked with a zero-size argument, ENOTTY = unknown. Tells the uAPI generation without trusting the version string.",
                           source: "collector probes `iommufd.cmd.0xNN`")]
}
