/// One name of capreg's vocabulary: every decoded value, stored fact and query term uses exactly these.
public struct VocabularyEntry: Hashable, Sendable {
    public var name: String
    public var type: FactType
    /// What the value means, in one or two sentences, including units and how it is derived.
    public var meaning: String
    /// Where the value comes from (register bits, struct offset, rule).
    public var source: String

    public init(_ name: String, _ type: FactType, _ meaning: String, source: String) {
        self.name = name
        self.type = type
        self.meaning = meaning
        self.source = source
    }
}

/// The whole vocabulary, assembled from the tables each decoder declares beside its code.
public enum Vocabulary {
    public static let all: [VocabularyEntry] = {
        let groups: [[VocabularyEntry]] = [
            CrossVendor.vocabulary,
            VTdRegisters.vocabulary,
            AMDRegisters.vocabulary,
            SMMUv3Registers.vocabulary,
            VFIOInfo.vocabulary,
            NestingInfo.vocabulary,
            IOMMUFDHWInfo.vocabulary,
            KernelProbes.vocabulary,
            PCIDevice.hostVocabulary,
        ]
        return groups.flatMap { $0 }
    }()

    /// Text facts that hold IOVA windows (IOVAWindows' form): what the query function covers() reads.
    public static let windowLists: Set<String> = [VFIOInfo.iovaWindows]

    public static let byName: [String: VocabularyEntry] = {
        Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }()

    /// Names of one PCI device (`device.*`), read inside `devices(…)` only: a host has many devices.
    public static let device: [VocabularyEntry] = PCIDevice.vocabulary
    public static let deviceByName: [String: VocabularyEntry] = PCIDevice.byName

    public static func entry(_ name: String) -> VocabularyEntry? { byName[name] }
}
