// Placeholder until this decoder lands.
public enum NestingInfo {
    public static let vocabulary: [VocabularyEntry] = []
}
