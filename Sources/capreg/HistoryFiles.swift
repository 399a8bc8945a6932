import API
import CSVText
import Foundation
import JSONText
import Store
import Timestamps

/// An auditor's export on disk: one file per table (JSON Lines or CSV) and `manifest.json` naming each
/// file's table, columns, row count, byte count and SHA-256, so that whoever reads the export later can
/// tell it is whole and unchanged (`capreg import history` checks it before it reads anything).
enum HistoryFiles {
    enum Encoding: String, CaseIterable {
        case jsonl, csv
    }

    static let manifestName = "manifest.json"
    static let format = "capreg-history"
    static let formatVersion = 1

    struct Failure: Error {
        var message: String
    }

    /// One table's file being written: bytes go through a buffer, the digest and counts as they pass.
    final class TableFile {
        let table: HistoryTable
        let name: String
        let handle: FileHandle
        var digest = SHA256()
        var rows = 0
        var bytes = 0
        var buffer: [UInt8] = []

        init(table: HistoryTable, encoding: Encoding, directory: String) throws {
            self.table = table
            name = "\(table.rawValue).\(encoding.rawValue)"
            let path = directory + "/" + name
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw Failure(message: "cannot write \(path)")
            }
            self.handle = handle
            buffer.reserveCapacity(1 << 20)
        }

        func append(_ data: [UInt8]) throws {
            buffer += data
            if buffer.count >= 1 << 20 { try flush() }
        }

        func flush() throws {
            guard !buffer.isEmpty else { return }
            digest.update(buffer)
            bytes += buffer.count
            try handle.write(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
        }

        func close() throws -> JSONValue {
            try flush()
            try handle.synchronize()
            try handle.close()
            return .object([
                ("table", .string(table.rawValue)),
                ("name", .string(name)),
                ("rows", .int(rows)),
                ("bytes", .int(bytes)),
                ("sha256", .string(digest.finalize())),
                ("columns", .array(table.columns.map { .object([("name", .string($0.name)), ("type", .string($0.kind.rawValue))]) })),
            ])
        }
    }

    /// A row as one JSON Lines line: each column under its name; times as RFC 3339, bytes as hex, stored
    /// JSON inserted as it is, absent as null.
    static func jsonLine(_ table: HistoryTable, _ cells: [HistoryCell]) -> [UInt8] {
        var out = JSONWriter()
        out.objectStart()
        for (column, cell) in zip(table.columns, cells) {
            out.key(column.name)
            switch (column.kind, cell) {
            case (_, .null): out.null()
            case (.time, .int(let ms)): out.string(RFC3339.format(StoreTime.date(ms)))
            case (_, .int(let n)): out.int(n)
            case (.json, .text(let json)): out.json(json)
            case (_, .text(let text)): out.string(text)
            case (_, .bytes(let raw)): out.string(hex(raw))
            }
        }
        out.objectEnd()
        return out.bytes + [0x0A]
    }

    /// A row as one CSV record through the one CSV writer (RFC 4180, text that a spreadsheet would run as a
    /// formula written as `'` + text: docs/audits.md). Absent is an empty field.
    static func csvRecord(_ table: HistoryTable, _ cells: [HistoryCell]) -> [UInt8] {
        Array(CSVWriter.record(zip(table.columns, cells).map { column, cell -> String? in
            switch (column.kind, cell) {
            case (_, .null): return nil
            case (.time, .int(let ms)): return RFC3339.format(StoreTime.date(ms))
            case (_, .int(let n)): return String(n)
            case (_, .text(let text)): return text
            case (_, .bytes(let raw)): return hex(raw)
            }
        }).utf8)
    }

    static func header(_ table: HistoryTable) -> [UInt8] { Array(CSVWriter.record(table.columns.map(\.name)).utf8) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes the window's tables into `directory` (created; it must be empty) and the manifest last, so a
    /// directory with a manifest is a finished export. `read` gives every row of every table (the registry's
    /// one transaction, or a server's pages) and answers the revision read at. Returns the manifest.
    static func write(window: HistoryWindow, encoding: Encoding, directory: String, now: Date,
                      read: ((HistoryTable, [HistoryCell]) throws -> Void) throws -> Int64) throws -> JSONValue {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try FileManager.default.contentsOfDirectory(atPath: directory)).isEmpty else {
                throw Failure(message: "\(directory) exists and is not an empty directory: an export goes into a directory of its own")
            }
        } else {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var files: [HistoryTable: TableFile] = [:]
        for table in HistoryTable.allCases {
            let file = try TableFile(table: table, encoding: encoding, directory: directory)
            if encoding == .csv { try file.append(header(table)) }
            files[table] = file
        }
        let revision = try read { table, cells in
            let file = files[table]!
            file.rows += 1
            try file.append(encoding == .jsonl ? jsonLine(table, cells) : csvRecord(table, cells))
        }
        let entries = try HistoryTable.allCases.map { try files[$0]!.close() }
        let manifest = JSONValue.object([
            ("format", .string(format)),
            ("format_version", .int(formatVersion)),
            ("encoding", .string(encoding.rawValue)),
            ("created_at", .string(RFC3339.format(now))),
            ("revision", .int(revision)),
            ("since", .optional(window.since.map(RFC3339.format))),
            ("until", .optional(window.until.map(RFC3339.format))),
            ("files", .array(entries)),
        ])
        let path = directory + "/" + manifestName
        try Data(manifest.bytes + [0x0A]).write(to: URL(fileURLWithPath: path + ".tmp"))
        guard rename(path + ".tmp", path) == 0 else { throw Failure(message: "cannot write \(path)") }
        return manifest
    }

    /// A manifest's file entry.
    struct Entry {
        var table: HistoryTable
        var name: String
        var rows: Int
        var bytes: Int
        var sha256: String
    }

    /// Reads the manifest and checks every file against it: size, SHA-256, row count. Throws naming the
    /// first file that differs; returns the encoding and entries when all agree.
    static func verify(directory: String) throws -> (encoding: Encoding, entries: [Entry]) {
        let path = directory + "/" + manifestName
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(message: "no \(manifestName) in \(directory): not a finished export") }
        guard let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any], manifest["format"] as? String == format else {
            throw Failure(message: "\(path) is not a \(format) manifest")
        }
        guard manifest["format_version"] as? Int == formatVersion else {
            throw Failure(message: "\(path): format_version \(manifest["format_version"] ?? "absent"); this capreg reads \(formatVersion)")
        }
        guard let encoding = (manifest["encoding"] as? String).flatMap(Encoding.init(rawValue:)) else {
            throw Failure(message: "\(path): encoding must be one of \(Encoding.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var entries: [Entry] = []
        for item in manifest["files"] as? [[String: Any]] ?? [] {
            guard let table = (item["table"] as? String).flatMap(HistoryTable.init(rawValue:)), let name = item["name"] as? String,
                  name == "\(table.rawValue).\(encoding.rawValue)", let rows = item["rows"] as? Int, let bytes = item["bytes"] as? Int,
                  let sha = item["sha256"] as? String else {
                throw Failure(message: "\(path): a files entry lacks table, name, rows, bytes or sha256, or names another file than its table's")
            }
            entries.append(Entry(table: table, name: name, rows: rows, bytes: bytes, sha256: sha))
        }
        guard Set(entries.map(\.table)) == Set(HistoryTable.allCases), entries.count == HistoryTable.allCases.count else {
            throw Failure(message: "\(path): files must list each of \(HistoryTable.allCases.map(\.rawValue).joined(separator: ", ")) once")
        }
        for entry in entries {
            let file = directory + "/" + entry.name
            guard let handle = FileHandle(forReadingAtPath: file) else { throw Failure(message: "\(file): missing") }
            defer { try? handle.close() }
            var digest = SHA256()
            var size = 0
            var records = RecordCounter(csv: encoding == .csv)
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                digest.update(chunk)
                size += chunk.count
                records.count(chunk)
            }
            if size != entry.bytes { throw Failure(message: "\(file): \(size) bytes; the manifest says \(entry.bytes)") }
            let sum = digest.finalize()
            if sum != entry.sha256 { throw Failure(message: "\(file): SHA-256 \(sum); the manifest says \(entry.sha256)") }
            let rows = records.records - (encoding == .csv ? 1 : 0)
            if rows != entry.rows { throw Failure(message: "\(file): \(rows) rows; the manifest says \(entry.rows)") }
        }
        return (encoding, entries)
    }

    /// Counts records: lines in JSON Lines (a newline inside a JSON string is escaped), CRLF-ended records
    /// outside quotes in CSV (a quoted field may hold line breaks).
    struct RecordCounter {
        let csv: Bool
        var quoted = false
        var records = 0

        mutating func count(_ bytes: Data) {
            for b in bytes {
                if csv && b == UInt8(ascii: "\"") { quoted.toggle() } else if b == 0x0A && !quoted { records += 1 }
            }
        }
    }
}
