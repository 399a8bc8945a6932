/// Why a blob could not be decoded, and where. Every decoder throws only this.
public struct DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case truncated          // the data ends before a field it must contain
        case badValue           // a field holds a value the layout does not allow
        case badLink            // a capability `next` points backwards, at itself, into a header, or past the end
        case unaligned          // an offset that must be aligned is not
        case sizeMismatch       // a self-described size disagrees with the bytes given
        case tooLarge           // an absurd size or count
        case badText            // hex/base64/number text that does not parse
    }

    public var kind: Kind
    /// Byte offset (from the start of the decoded blob) where the problem was found.
    public var offset: Int
    /// What the decoder expected to find there.
    public var expected: String
    /// What it found instead, if that helps.
    public var found: String?
    /// Which structure was being read (e.g. "vfio_iommu_type1_info", "capability id 3 at 56").
    public var context: String

    public init(_ kind: Kind, offset: Int, expected: String, found: String? = nil, context: String) {
        self.kind = kind
        self.offset = offset
        self.expected = expected
        self.found = found
        self.context = context
    }

    public var description: String {
        var s = "\(context): at byte \(offset): expected \(expected)"
        if let found { s += ", found \(found)" }
        return s
    }
}
