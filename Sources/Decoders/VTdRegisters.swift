// Placeholder until this decoder lands (API shape only, so dependents compile).
public enum VTdRegisters {
    public static let vocabulary: [VocabularyEntry] = []
    public static func decode(cap: UInt64, ecap: UInt64) -> [Fact] { [] }
    public static func decode(capText: String, ecapText: String) throws(DecodeError) -> [Fact] {
        decode(cap: try BlobText.register(capText, name: "VT-d CAP"), ecap: try BlobText.register(ecapText, name: "VT-d ECAP"))
    }
}
