import Decoders

/// Fact names and values numbered once each, so that a million fact rows are kept as small integers.
struct FactNumbers {
    private(set) var names: [String] = []
    private(set) var values: [FactValue] = []
    private var nameIds: [String: Int32] = [:]
    private var valueIds: [FactValue: Int32] = [:]

    /// The name's number (names are fewer than 2^19).
    mutating func name(_ text: String) -> Int32 {
        if let id = nameIds[text] { return id }
        names.append(text)
        nameIds[text] = Int32(names.count - 1)
        return Int32(names.count - 1)
    }

    /// The value's number; -1 for absent.
    mutating func value(_ value: FactValue?) -> Int32 {
        guard let value else { return -1 }
        if let id = valueIds[value] { return id }
        values.append(value)
        valueIds[value] = Int32(values.count - 1)
        return Int32(values.count - 1)
    }
}

/// Fact rows from two sides (before and after) of many groups (a kernel move, a host), paired by name:
/// names and values are numbered once (FactNumbers), and each row is packed as
/// (group << 20 | name << 1 | side, value) so that one sort brings each group's names together, before then
/// after. A 100,000-host fleet gives over a million rows; this keeps them in one flat array instead of a
/// dictionary per group.
struct FactPairs {
    private(set) var numbers = FactNumbers()
    private var rows: [(key: UInt64, value: Int32)] = []

    var names: [String] { numbers.names }
    var values: [FactValue] { numbers.values }

    mutating func name(_ text: String) -> Int32 { numbers.name(text) }

    mutating func add(group: Int64, name: Int32, after: Bool, value: FactValue) {
        rows.append((UInt64(group) << 20 | UInt64(name) << 1 | (after ? 1 : 0), numbers.value(value)))
    }

    /// Each (group, name) whose value differs between the sides, groups ascending: before and after are
    /// value numbers, -1 for absent.
    mutating func differing(_ body: (_ group: Int64, _ name: Int32, _ before: Int32, _ after: Int32) -> Void) {
        rows.sort { $0.key < $1.key }
        var r = 0
        while r < rows.count {
            let pair = rows[r].key >> 1
            var before: Int32 = -1, after: Int32 = -1
            if rows[r].key & 1 == 0 { before = rows[r].value; r += 1 }
            if r < rows.count && rows[r].key >> 1 == pair { after = rows[r].value; r += 1 }
            if before != after { body(Int64(pair >> 19), Int32(pair & 0x7FFFF), before, after) }
        }
    }
}
