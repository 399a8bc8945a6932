// Placeholder until this decoder lands (API shape only, so dependents compile).
public enum SMMUv3Registers {
    public static let vocabulary: [VocabularyEntry] = []
    public static func decodeBytes(_ bytes: [UInt8]) throws(DecodeError) -> [Fact] { [] }
}
