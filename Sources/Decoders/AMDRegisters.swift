// Placeholder until this decoder lands.
public enum AMDRegisters {
    public static let vocabulary: [VocabularyEntry] = []
}
