// Placeholder until this decoder lands (API shape only, so dependents compile).
public struct IOMMUFDHWInfo: Sendable {
    public static let vocabulary: [VocabularyEntry] = []
    public var facts: [Fact] = []
    public var notes: [String] = []
    public static func decode(_ blob: [UInt8]) throws(DecodeError) -> IOMMUFDHWInfo { IOMMUFDHWInfo() }
}
