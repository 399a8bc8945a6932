import Foundation
import NIOCore
import PostgresNIO
import Store

/// SQLValue to and from PostgreSQL's wire values.
enum PostgresValues {
    /// `.int` binds as int8, `.double` float8, `.text` text, `.blob` bytea. NULL goes without a type, so
    /// that the server infers it from where the placeholder stands (a typed NULL would refuse to compare
    /// with a column of another type).
    static func bindings(_ arguments: [any SQLBindable]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument.sqlValue {
            case .null: bindings.appendNull()
            case .int(let i): bindings.append(i)
            case .double(let d): bindings.append(d)
            case .text(let s): bindings.append(s)
            case .blob(let b): bindings.append(ByteBuffer(bytes: b))
            }
        }
        return bindings
    }

    /// Every row as SQLRows, its column names shared.
    static func rows(_ rows: [PostgresRow]) throws -> [SQLRow] {
        guard let first = rows.first else { return [] }
        let names = SQLColumnNames(first.map(\.columnName))
        return try rows.map { row in SQLRow(columns: names, values: try row.map(value)) }
    }

    /// One cell: integers (and bool, 0/1) as `.int`, floats as `.double`, numeric as `.int` when integral
    /// else `.double`, character types as `.text`, bytea as `.blob`. Any other type as `.text`, read the
    /// way PostgresNIO reads a string (right for json, jsonb, uuid and text-like types; timestamps and other
    /// binary types must be cast to text in the SQL).
    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8:
            return .int(try cell.decode(Int64.self))
        case .bool:
            return .int(try cell.decode(Bool.self) ? 1 : 0)
        case .float4, .float8:
            return .double(try cell.decode(Double.self))
        case .numeric:
            return numeric(try cell.decode(Decimal.self))
        case .oid:
            return .int(Int64(bytes.readInteger(as: UInt32.self) ?? 0))
        case .bytea:
            return .blob(bytes.readBytes(length: bytes.readableBytes) ?? [])
        default:
            return .text(try cell.decode(String.self))
        }
    }

    /// An integral numeric that fits as `.int` (sum() of bigints is numeric), anything else as `.double`.
    static func numeric(_ decimal: Decimal) -> SQLValue {
        let text = NSDecimalNumber(decimal: decimal).stringValue
        if let integer = Int64(text) { return .int(integer) }
        return .double(NSDecimalNumber(decimal: decimal).doubleValue)
    }
}
