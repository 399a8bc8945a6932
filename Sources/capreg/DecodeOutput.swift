import Decoders
import Foundation

/// How `capreg decode` prints: an aligned table for people, JSON for machines.
enum DecodeOutput {
    static func table(_ d: DecodedBlob) -> String {
        var out = ""
        if let info = d.vfio {
            out += "vfio_iommu_type1_info: argsz \(info.argsz), flags \(hex(UInt64(info.flags))), iova_pgsizes \(hex(info.iovaPgsizes))"
            out += info.capOffset.map { ", cap_offset \($0)\n" } ?? "\n"
            for cap in info.capabilities {
                out += "  @\(cap.offset)  id \(cap.id) v\(cap.version)  \(cap.bytes.count) bytes  \(cap.name)"
                switch cap.content {
                case .ambiguous(let labels): out += "  (fits: \(labels.joined(separator: ", ")))"
                case .unknown(let why): out += "  (\(why))"
                default: break
                }
                out += "\n"
            }
            out += "\n"
        }
        for candidate in d.candidates {
            out += "candidate \(candidate.revision.rawValue):\n" + rows(candidate.facts) + "\n"
        }
        out += rows(d.facts)
        for note in d.notes { out += "note: \(note)\n" }
        return out
    }

    static func rows(_ facts: [Fact]) -> String {
        let width = max(4, facts.map(\.name.count).max() ?? 0)
        var out = "NAME".padding(toLength: width, withPad: " ", startingAt: 0) + "  VALUE\n"
        for f in facts {
            out += f.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(f.value)\n"
        }
        return out
    }

    static func json(_ d: DecodedBlob) -> String {
        var object: [String: Any] = [
            "kind": d.kind.rawValue,
            "facts": factsObject(d.facts),
            "notes": d.notes,
        ]
        if let info = d.vfio {
            object["vfio_info"] = [
                "argsz": info.argsz, "flags": info.flags, "iova_pgsizes": hex(info.iovaPgsizes),
                "cap_offset": info.capOffset.map { $0 as Any } ?? NSNull(),
                "capabilities": info.capabilities.map { cap -> [String: Any] in
                    var c: [String: Any] = ["offset": cap.offset, "id": cap.id, "version": cap.version, "next": cap.next,
                                            "length": cap.bytes.count, "name": cap.name, "notes": cap.notes,
                                            "raw_hex": cap.bytes.map { String(format: "%02x", $0) }.joined()]
                    // The windows as a list too (the fact vfio.iova_windows is the same list as one text).
                    if case .iovaRange(let ranges) = cap.content {
                        c["iova_ranges"] = ranges.map { ["start": hex($0.start), "end": hex($0.end)] }
                    }
                    if case .ambiguous(let labels) = cap.content { c["candidates"] = labels }
                    if case .unknown(let why) = cap.content { c["unknown"] = why }
                    return c
                },
            ]
        }
        if !d.candidates.isEmpty {
            object["candidates"] = d.candidates.map { ["revision": $0.revision.rawValue, "facts": factsObject($0.facts)] }
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func factsObject(_ facts: [Fact]) -> [String: Any] {
        var o: [String: Any] = [:]
        for f in facts {
            switch f.value {
            case .bool(let b): o[f.name] = b
            case .int(let i): o[f.name] = i
            case .text(let s): o[f.name] = s
            }
        }
        return o
    }
}
