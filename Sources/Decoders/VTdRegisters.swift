// Placeholder until this decoder lands.
public enum VTdRegisters {
    public static let vocabulary: [VocabularyEntry] = []
}
