/// Header fields in arrival order. Names compare case-insensitively (RFC 9110 §5.1); the lowercased
/// name is kept beside the original so lookups don't lowercase on every call.
public struct HTTPHeaders: Sendable, Equatable, Sequence {
    public struct Field: Sendable, Equatable {
        public let name: String
        public let value: String
        /// `name` lowercased (ASCII), the key every lookup compares.
        public let key: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
            self.key = name.asciiLowercased()
        }
    }

    public private(set) var fields: [Field]

    public init() { fields = [] }

    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        let key = name.asciiLowercased()
        return fields.first { $0.key == key }?.value
    }

    /// Every value of `name`, in arrival order.
    public func values(_ name: String) -> [String] {
        let key = name.asciiLowercased()
        return fields.filter { $0.key == key }.map { $0.value }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces every field called `name` by one.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    public mutating func remove(_ name: String) {
        let key = name.asciiLowercased()
        fields.removeAll { $0.key == key }
    }
}

extension String {
    /// Lowercases A–Z only: header names are ASCII tokens, and Unicode case mapping is both slower and
    /// wrong for them.
    func asciiLowercased() -> String {
        var bytes = Array(utf8)
        var changed = false
        for i in bytes.indices where bytes[i] >= 0x41 && bytes[i] <= 0x5A {
            bytes[i] |= 0x20
            changed = true
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : self
    }
}
