import Decoders

/// A host's facts are its units' facts combined, conservatively, because a VM's device may sit behind
/// any unit: a boolean holds only if it holds on every unit that reports it, an integer is the smallest
/// reported, and text that differs between units becomes the sorted distinct values joined by `,` —
/// except IOVA windows (`vfio.iova_windows`), which become the windows every unit has in common.
/// A name no unit reports stays absent (unknown), never false.
public enum HostFacts {
    /// Every host-level fact of one report: the units' facts combined, then the usable half derived
    /// from them and the report's probes (UsableFacts), sorted by name.
    public static func of(_ records: [CapabilityRecord], kernel: String, collectorVersion: String) -> [Fact] {
        let hardware = combine(records)
        let usable = UsableFacts.derive(records: records, facts: hardware, kernel: kernel, collectorVersion: collectorVersion)
        let devices = records.reduce(0) { $0 + ($1.capability == SourceDecoder.pciDevice ? 1 : 0) }
        let count = devices > 0 ? [Fact(PCIDevice.hostCount, int: devices)] : []
        return (hardware + usable + count).sorted { $0.name < $1.name }
    }

    public static func combine(_ records: [CapabilityRecord]) -> [Fact] {
        // Every unit's facts in one array, sorted by name once, then each run of one name folded: no
        // dictionary of arrays (hashing every name cost more than the folding).
        var all: [Fact] = []
        all.reserveCapacity(records.reduce(0) { $0 + $1.facts.count })
        // A device's facts are its own (HostDevices), not the host's.
        for record in records where record.capability != SourceDecoder.pciDevice { all.append(contentsOf: record.facts) }
        // Order within a run does not matter: the fold is all-true, the minimum, or the sorted distinct texts.
        all.sort { $0.name < $1.name }
        var result: [Fact] = []
        result.reserveCapacity(all.count)
        var i = 0
        while i < all.count {
            var j = i + 1
            while j < all.count && all[j].name == all[i].name { j += 1 }
            if j == i + 1 {
                result.append(all[i])
            } else if all[i].name == VFIOInfo.iovaWindows {
                result.append(Fact(all[i].name, combineWindows(all[i..<j].map(\.value))))
            } else {
                result.append(Fact(all[i].name, combine(all[i..<j].map(\.value))))
            }
            i = j
        }
        return result
    }

    /// IOVA windows: an address is usable on the host only if every container can map it, so the
    /// host's windows are the intersection. A value that is not a window list falls back to `combine`.
    static func combineWindows(_ values: [FactValue]) -> FactValue {
        if values.dropFirst().allSatisfy({ $0 == values[0] }) { return values[0] }
        var lists: [[IOVARange]] = []
        for value in values {
            guard case .text(let text) = value, let windows = IOVAWindows.parse(text) else { return combine(values) }
            lists.append(windows)
        }
        return .text(IOVAWindows.text(IOVAWindows.intersection(lists)))
    }

    static func combine(_ values: [FactValue]) -> FactValue {
        if values.allSatisfy({ $0.type == .bool }) {
            return .bool(values.allSatisfy { $0 == .bool(true) })
        }
        if values.allSatisfy({ $0.type == .int }) {
            return values.min { a, b in
                if case .int(let x) = a, case .int(let y) = b { return x < y }
                return false
            }!
        }
        let distinct = Set(values.map(\.description)).sorted()
        return .text(distinct.joined(separator: ","))
    }
}
