/// One bit field of a hardware register, declared once: it both decodes the field and documents it
/// in the vocabulary. Width-1 fields become booleans, wider ones integers holding the raw field value.
public struct RegisterField: Sendable {
    public var name: String
    public var low: Int
    public var width: Int
    public var meaning: String

    public init(_ name: String, bit: Int, _ meaning: String) {
        self.init(name, bits: bit...bit, meaning)
    }

    public init(_ name: String, bits: ClosedRange<Int>, _ meaning: String) {
        self.name = name
        self.low = bits.lowerBound
        self.width = bits.count
        self.meaning = meaning
    }

    public func raw(_ register: UInt64) -> UInt64 {
        let mask: UInt64 = width >= 64 ? ~0 : (1 << UInt64(width)) - 1
        return (register >> UInt64(low)) & mask
    }

    public func fact(_ register: UInt64) -> Fact {
        width == 1 ? Fact(name, raw(register) == 1) : Fact(name, int: raw(register))
    }

    /// `register` names the register in the docs, e.g. "VT-d CAP".
    public func vocabulary(register: String) -> VocabularyEntry {
        let bits = width == 1 ? "bit \(low)" : "bits \(low + width - 1):\(low)"
        return VocabularyEntry(name, width == 1 ? .bool : .int, meaning, source: "\(register) \(bits)")
    }
}

extension Array where Element == RegisterField {
    func facts(_ register: UInt64) -> [Fact] { map { $0.fact(register) } }
    func vocabulary(register: String) -> [VocabularyEntry] { map { $0.vocabulary(register: register) } }
}
