// Placeholder until this decoder lands (API shape only, so dependents compile).
public enum AMDRegisters {
    public static let vocabulary: [VocabularyEntry] = []
    public static func decode(efr: UInt64, efr2: UInt64?) -> [Fact] { [] }
    public static func parseSysfsFeatures(_ text: String, kernel: KernelRelease?) throws(DecodeError) -> (efr: UInt64, efr2: UInt64?, note: String?) {
        (try BlobText.register(text, name: "AMD features"), nil, nil)
    }
}
