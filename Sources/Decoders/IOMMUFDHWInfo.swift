// Placeholder until this decoder lands.
public enum IOMMUFDHWInfo {
    public static let vocabulary: [VocabularyEntry] = []
}
