// Placeholder until this decoder lands.
public enum SMMUv3Registers {
    public static let vocabulary: [VocabularyEntry] = []
}
