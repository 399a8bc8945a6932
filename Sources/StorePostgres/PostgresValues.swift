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
        return try rows.map { row in SQLRow(columns: names, values: try row.map(decoded)) }
    }

    /// `value(cell)`, its failure said without the cell's bytes (PostgresNIO's decoding error carries them).
    static func decoded(_ cell: PostgresCell) throws -> SQLValue {
        do {
            return try value(cell)
        } catch {
            throw PostgresBackendError(sqlState: nil, message: "column \(cell.columnName) (type \(cell.dataType)) could not be decoded",
                                       connectionLost: false)
        }
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
        case .numeric where cell.format == .binary:
            return try numeric(&bytes)
        case .oid:
            return .int(Int64(bytes.readInteger(as: UInt32.self) ?? 0))
        case .bytea:
            return .blob(bytes.readBytes(length: bytes.readableBytes) ?? [])
        default:
            return .text(try cell.decode(String.self))
        }
    }

    /// A numeric (binary form: digit count, weight, sign, scale, then base-10000 digits, the first one
    /// weighing 10000^weight) that is integral and fits as `.int` (sum() of bigints is numeric), any
    /// other as `.double`, NaN and the infinities included. Read here, not through Foundation's Decimal,
    /// which PostgresNIO reads NaN into as 0 and which holds only 38 digits.
    static func numeric(_ bytes: inout ByteBuffer) throws -> SQLValue {
        guard let count = bytes.readInteger(as: Int16.self), let weight = bytes.readInteger(as: Int16.self),
              let sign = bytes.readInteger(as: UInt16.self), bytes.readInteger(as: Int16.self) != nil,
              count >= 0, bytes.readableBytes == 2 * Int(count) else {
            throw PostgresDecodingError.Code.failure
        }
        let digits = (0..<Int(count)).map { _ in bytes.readInteger(as: Int16.self)! }
        switch sign {
        case 0xC000: return .double(.nan)
        case 0xD000: return .double(.infinity)
        case 0xF000: return .double(-.infinity)
        default: break
        }
        // Decimal text: the integer part (base-10000 positions weight…0), then the fraction's.
        var integer = "", fraction = ""
        for position in stride(from: Int(max(weight, 0)), through: 0, by: -1) {
            let index = Int(weight) - position
            let digit = index >= 0 && index < digits.count ? Int(digits[index]) : 0
            integer += integer.isEmpty ? String(digit) : fourDigits(digit)
        }
        for index in max(0, Int(weight) + 1)..<max(digits.count, Int(weight) + 1) {
            fraction += fourDigits(Int(digits[index]))
        }
        if weight < -1 { fraction = String(repeating: "0000", count: Int(-weight - 1)) + fraction }
        let negative = sign == 0x4000 ? "-" : ""
        if !fraction.contains(where: { $0 != "0" }), let value = Int64(negative + integer) { return .int(value) }
        return .double(Double(negative + integer + "." + (fraction.isEmpty ? "0" : fraction)) ?? .nan)
    }

    static func fourDigits(_ digit: Int) -> String {
        let text = String(digit)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }
}
