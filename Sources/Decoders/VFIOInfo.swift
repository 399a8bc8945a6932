// Placeholder until this decoder lands.
public enum VFIOInfo {
    public static let vocabulary: [VocabularyEntry] = []
}
