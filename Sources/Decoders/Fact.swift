/// A decoded value. Integers are signed 64-bit (what SQLite and JSON carry exactly);
/// whole 64-bit registers and bitmaps are kept as `0x…` text so no bit pattern is lost.
public enum FactValue: Hashable, Sendable, CustomStringConvertible {
    case bool(Bool)
    case int(Int64)
    case text(String)

    public var type: FactType {
        switch self {
        case .bool: return .bool
        case .int: return .int
        case .text: return .text
        }
    }

    public var description: String {
        switch self {
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .text(let s): return s
        }
    }
}

public enum FactType: String, Sendable, Codable, CaseIterable {
    case bool, int, text
}

/// One vocabulary-named value, e.g. `vtd.ecap.nest = true`.
public struct Fact: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: FactValue

    public init(_ name: String, _ value: FactValue) {
        self.name = name
        self.value = value
    }
    public init(_ name: String, _ value: Bool) { self.init(name, .bool(value)) }
    public init(_ name: String, int value: some BinaryInteger) { self.init(name, .int(Int64(truncatingIfNeeded: value))) }
    public init(_ name: String, text value: String) { self.init(name, .text(value)) }
    public init(_ name: String, hex value: UInt64) { self.init(name, .text(hex(value))) }

    public var description: String { "\(name) = \(value)" }
}
