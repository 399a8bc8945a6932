import Decoders
import Report

/// Where a report's state sits on its host's timeline: from its time until the next report's time
/// (open-ended for the newest report). Reports of equal time are ordered by receive order (row id).
struct Placement {
    var at: Int64
    var until: Int64
    /// Row id of the report at `until` (nil when open-ended).
    var next: Int64?
    var isNewest: Bool

    /// The placement of a report at `at` that is, or would be, received after `after` (row id; nil
    /// for a report not stored yet).
    static func of(_ db: any SQLConnection, host: Int64, at: Int64, receivedAfter after: Int64?) throws -> Placement {
        let sql = """
            SELECT id, collected_at FROM reports
            WHERE host_id = ? AND (collected_at > ? OR (collected_at = ? AND id > ?)) AND \(RetractionSQL.counts("reports"))
            ORDER BY collected_at, id LIMIT 1
            """
        guard let row = try db.row(sql, [host, at, at, after ?? Int64.max]) else {
            return Placement(at: at, until: StoreTime.openEnd, next: nil, isNewest: true)
        }
        let nextAt: Int64 = row[1]
        // A later-received report of the same time shadows this one entirely: its interval is empty.
        return Placement(at: at, until: nextAt, next: row[0], isNewest: false)
    }
}

/// Makes a host's history (and, for the newest report, its current projection) say that `facts` and
/// `capabilities` hold over a placement. Shared by ingest and redecode.
enum StateWriter {
    struct Written {
        var opened = 0
        var closed = 0
    }

    static let placeholder: Int64 = -1

    /// Computes the splices with the report still unknown (`placeholder`), so callers can decide the
    /// outcome before inserting the report row; `commit` then writes them.
    struct Plan {
        var host: Int64
        var placement: Placement
        var facts: IntervalSplice<FactValue>
        var capabilities: IntervalSplice<CapabilityValue>
        /// Sorted by name, unique; `facts.since` runs alongside.
        var desiredFacts: [(key: String, value: FactValue)]
        /// The host's open fact rows before this write, sorted by name.
        var previousOpenFacts: [(key: String, value: FactValue)]
        /// The report's devices (HostDevices), for the current projection.
        var devices: [DeviceFacts]
        var isEmpty: Bool { facts.ops.isEmpty && capabilities.ops.isEmpty }
        var written: Written { Written(opened: facts.opened, closed: facts.closed) }
    }

    /// `newHost`: the host row was inserted in this transaction, so it has no rows to read (two statements
    /// fewer for each new host's report).
    static func plan(_ db: any SQLConnection, host: Int64, placement: Placement, report: Int64 = placeholder,
                     facts: [Fact], capabilities: [CapabilityValue], devices: [DeviceFacts], newHost: Bool = false) throws -> Plan {
        let factRows = newHost ? [] : try FactTable.load(db, host: host, notEndingBefore: placement.at)
        let capRows = newHost ? [] : try CapabilityTable.load(db, host: host, notEndingBefore: placement.at,
                                                              decoded: placement.until != StoreTime.openEnd)
        let desiredFacts = IntervalSplice<FactValue>.sortedUnique(facts.map { ($0.name, $0.value) })
        let desiredCaps = IntervalSplice<CapabilityValue>.sortedUnique(
            capabilities.map { (CapabilityRecord.key(unit: $0.unit, capability: $0.capability), $0) })
        let factSplice = IntervalSplice(rows: factRows, desired: desiredFacts, at: placement.at, until: placement.until,
                                        report: report, next: placement.next)
        let capSplice = IntervalSplice(rows: capRows, desired: desiredCaps, at: placement.at, until: placement.until,
                                       report: report, next: placement.next)
        let open = factRows.filter { $0.to == StoreTime.openEnd }.map { (key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }
        return Plan(host: host, placement: placement, facts: factSplice, capabilities: capSplice,
                    desiredFacts: desiredFacts, previousOpenFacts: open, devices: devices)
    }

    /// The addresses of the PCI devices the current projection gained, lost or changed (none for history).
    @discardableResult
    static func commit(_ db: any SQLConnection, _ plan: Plan, report: Int64) throws -> [String] {
        try FactTable.apply(db, host: plan.host, ops: plan.facts.ops, placeholder: placeholder, report: report)
        try CapabilityTable.apply(db, host: plan.host, ops: plan.capabilities.ops, placeholder: placeholder, report: report)
        guard plan.placement.isNewest else { return [] }
        try updateCurrentFacts(db, plan)
        return try updateCurrentDevices(db, plan)
    }

    /// current_device_facts holds the newest report's devices: rewritten whole when they differ from what
    /// it holds (read only for a host that has or had devices: `devices.count` among its facts).
    static func updateCurrentDevices(_ db: any SQLConnection, _ plan: Plan) throws -> [String] {
        let had = plan.previousOpenFacts.contains { $0.key == PCIDevice.hostCount }
        guard had || !plan.devices.isEmpty else { return [] }
        var changed: [String] = []
        if had {
            // Compared as sorted [bdf, name, type, value] rows; a host new to devices has nothing to compare.
            var desired: [[String]] = []
            for device in plan.devices {
                for fact in device.facts { desired.append([device.bdf, fact.name, fact.value.type.rawValue, fact.value.description]) }
            }
            desired.sort { $0.lexicographicallyPrecedes($1) }
            let stored = try db.rows("SELECT bdf, name, type, value_int, value_text FROM current_device_facts WHERE host_id = ?", [plan.host]).map { row -> [String] in
                let type: String = row[2]
                let value = FactColumns.join(type: type, int: row[3], text: row[4])
                return [row[0], row[1], type, value.description]
            }.sorted { $0.lexicographicallyPrecedes($1) }
            if stored == desired { return [] }
            try db.send("DELETE FROM current_device_facts WHERE host_id = ?", [plan.host])
            changed = changedDevices(stored, desired)
        } else {
            changed = plan.devices.map(\.bdf)
        }
        var rows = RowBatch(table: "current_device_facts", columns: ["host_id", "bdf", "name", "type", "value_int", "value_text"])
        for device in plan.devices {
            for fact in device.facts {
                let c = FactColumns.split(fact.value)
                try rows.add(db, [plan.host, device.bdf, fact.name, c.type, c.int, c.text])
            }
        }
        try rows.flush(db)
        return changed
    }

    /// Addresses whose rows (sorted `[bdf, name, type, value]`) differ between the two lists.
    static func changedDevices(_ stored: [[String]], _ desired: [[String]]) -> [String] {
        let a = Dictionary(grouping: stored, by: { $0[0] })
        let b = Dictionary(grouping: desired, by: { $0[0] })
        return Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
    }

    /// current_facts mirrors the open fact rows: rewrite only the names whose value changed (a merge of
    /// the two sorted lists); host_facts_json, their encoded object, is rewritten when any did.
    static func updateCurrentFacts(_ db: any SQLConnection, _ plan: Plan) throws {
        let open = plan.previousOpenFacts
        var gone: [String] = []
        var upserts = RowBatch(table: "current_facts", columns: ["host_id", "name", "type", "value_int", "value_text", "since"], suffix: """
            ON CONFLICT (host_id, name) DO UPDATE SET type = excluded.type, value_int = excluded.value_int,
                value_text = excluded.value_text, since = excluded.since
            """)
        var o = 0
        for (i, want) in plan.desiredFacts.enumerated() {
            while o < open.count && open[o].key < want.key {
                gone.append(open[o].key)
                o += 1
            }
            var old: FactValue?
            if o < open.count && open[o].key == want.key {
                old = open[o].value
                o += 1
            }
            if old == want.value { continue }
            let c = FactColumns.split(want.value)
            try upserts.add(db, [plan.host, want.key, c.type, c.int, c.text, plan.facts.since[i]])
        }
        gone += open[o...].map(\.key)
        try upserts.flush(db)
        for start in stride(from: 0, to: gone.count, by: 64) {
            let names = gone[start..<min(start + 64, gone.count)]
            try db.send("DELETE FROM current_facts WHERE host_id = ? AND name IN \(SQLPlaceholders.list(names.count))",
                           [plan.host] + names.map { $0 as any SQLBindable })
        }
        if upserts.sent > 0 || !gone.isEmpty {
            try db.send("""
                INSERT INTO host_facts_json (host_id, facts) VALUES (?, ?) ON CONFLICT (host_id) DO UPDATE SET facts = excluded.facts
                """, [plan.host, DecodedJSON.currentFacts(plan.desiredFacts)])
        }
    }

    /// The key-fact columns of `hosts` (the one-row-per-host projection placement queries read).
    static func updateKeyFacts(_ db: any SQLConnection, host: Int64, facts: [Fact]) throws {
        try db.send("UPDATE hosts SET \(keyFactAssignments) WHERE id = ?", (keyFactValues(facts) + [host]))
    }

    static let keyFactAssignments = """
        cur_vendor = ?, cur_nesting = ?, cur_pasid_bind = ?, cur_pasid_bits = ?, cur_addr_width = ?, cur_first_level_format = ?
        """

    /// Values for `keyFactAssignments`, in its order (the first value of a repeated name).
    static func keyFactValues(_ facts: [Fact]) -> [any SQLBindable] {
        let names = [CrossVendor.vendor, CrossVendor.nesting, CrossVendor.pasidBind, CrossVendor.pasidBits,
                     CrossVendor.addrWidth, CrossVendor.firstLevelFormat]
        var found = [FactValue?](repeating: nil, count: names.count)
        for fact in facts {
            if let i = names.firstIndex(of: fact.name), found[i] == nil { found[i] = fact.value }
        }
        func int(_ v: FactValue?) -> Int64? {
            switch v {
            case .bool(let b)?: return b ? 1 : 0
            case .int(let i)?: return i
            default: return nil
            }
        }
        return [found[0]?.description, int(found[1]), int(found[2]), int(found[3]), int(found[4]), found[5]?.description]
    }
}
