import Foundation

/// One value crossing to or from a database, the same on every backend. Times are integer milliseconds
/// and booleans 0/1 in the schema, so five kinds cover every column.
public enum SQLValue: Sendable, Hashable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
}

/// A Swift value that binds to a statement's `?`.
public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

/// A Swift value a column decodes to. nil: the column holds something else (a programming error for a
/// non-optional read, since the schema says what each column holds).
public protocol SQLReadable {
    static func read(_ value: SQLValue) -> Self?
}

extension SQLValue: SQLBindable, SQLReadable {
    public var sqlValue: SQLValue { self }
    public static func read(_ value: SQLValue) -> SQLValue? { value }
}

extension Int64: SQLBindable, SQLReadable {
    public var sqlValue: SQLValue { .int(self) }
    public static func read(_ value: SQLValue) -> Int64? {
        switch value {
        case .int(let i): return i
        // PostgreSQL answers numeric for sums; an integral one is an integer.
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }
}

extension Int: SQLBindable, SQLReadable {
    public var sqlValue: SQLValue { .int(Int64(self)) }
    public static func read(_ value: SQLValue) -> Int? { Int64.read(value).map(Int.init) }
}

extension Int32: SQLBindable {
    public var sqlValue: SQLValue { .int(Int64(self)) }
}

extension Bool: SQLBindable, SQLReadable {
    public var sqlValue: SQLValue { .int(self ? 1 : 0) }
    public static func read(_ value: SQLValue) -> Bool? { Int64.read(value).map { $0 != 0 } }
}

extension Double: SQLBindable, SQLReadable {
    public var sqlValue: SQLValue { .double(self) }
    public static func read(_ value: SQLValue) -> Double? {
        switch value {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
}

extension String: SQLBindable, SQLReadable {
    public var sqlValue: SQLValue { .text(self) }
    public static func read(_ value: SQLValue) -> String? {
        if case .text(let s) = value { return s }
        return nil
    }
}

extension Data: SQLBindable, SQLReadable {
    public var sqlValue: SQLValue { .blob([UInt8](self)) }
    public static func read(_ value: SQLValue) -> Data? {
        if case .blob(let b) = value { return Data(b) }
        return nil
    }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

extension Optional: SQLReadable where Wrapped: SQLReadable {
    /// `.some(nil)` for NULL: an optional read of NULL succeeds.
    public static func read(_ value: SQLValue) -> Wrapped?? {
        if case .null = value { return .some(nil) }
        return Wrapped.read(value).map { .some($0) }
    }
}

/// Column reads by position while a statement steps (the backend's own row, no copy): the hot paths
/// (fact pages, interval loads) read through this.
public protocol SQLColumns {
    func isNull(_ column: Int32) -> Bool
    func int64(_ column: Int32) -> Int64
    /// The column as text ("" for NULL).
    func text(_ column: Int32) -> String
    func blob(_ column: Int32) -> [UInt8]
    /// Whether the column's text equals `expected`, without making a String where the backend can.
    func textEquals(_ column: Int32, _ expected: StaticString) -> Bool
}

extension SQLColumns {
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
    public func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
}

/// Column names of one statement's rows, shared by all of them.
public final class SQLColumnNames: @unchecked Sendable {
    public let names: [String]
    private let index: [String: Int]

    public init(_ names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        // The first of two equal names wins, as in SQL.
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        self.index = index
    }

    public func position(_ name: String) -> Int? { index[name] }
}

/// One fetched row, copied out of the statement.
public struct SQLRow: SQLColumns, Sendable {
    public let columns: SQLColumnNames
    public let values: [SQLValue]

    public init(columns: SQLColumnNames, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public var count: Int { values.count }

    public subscript<T: SQLReadable>(_ i: Int) -> T {
        guard i >= 0, i < values.count else { fatalError("column \(i) of a \(values.count)-column row") }
        guard let value = T.read(values[i]) else { fatalError("column \(i) (\(columnName(i))) holds \(values[i]), not \(T.self)") }
        return value
    }

    public subscript<T: SQLReadable>(_ name: String) -> T {
        guard let i = columns.position(name) else { fatalError("no column \(name) among \(columns.names)") }
        return self[i]
    }

    private func columnName(_ i: Int) -> String { i < columns.names.count ? columns.names[i] : "?" }

    public func isNull(_ column: Int32) -> Bool { values[Int(column)] == .null }
    public func int64(_ column: Int32) -> Int64 { Int64.read(values[Int(column)]) ?? 0 }
    public func text(_ column: Int32) -> String { String.read(values[Int(column)]) ?? "" }
    public func blob(_ column: Int32) -> [UInt8] {
        if case .blob(let b) = values[Int(column)] { return b }
        return []
    }
    public func textEquals(_ column: Int32, _ expected: StaticString) -> Bool {
        guard case .text(let s) = values[Int(column)] else { return false }
        return s.utf8.elementsEqual(UnsafeBufferPointer(start: expected.utf8Start, count: expected.utf8CodeUnitCount))
    }
}
