import API
import Foundation
import Testing
import RegistryClient
import Timestamps
@testable import Synthetic

/// Issue 16 over HTTP: a `fields=` answer is the full answer's bytes with each host's facts object cut
/// down to the named facts (its members kept in their order), whatever the page reads them from: now,
/// as of a time and as of a revision.
@Suite("GET /v1/hosts: a compact answer is the full answer's subset, byte for byte")
struct CompactAnswerTests {
    /// `fields=` text and the fact names it selects.
    static let cases: [(fields: String, facts: Set<String>)] = [
        ("pasid_bits", ["pasid_bits"]),
        ("iommu.vendor,nesting,pasid_bind,pasid_bits,addr_width,first_level.format",
         ["iommu.vendor", "nesting", "pasid_bind", "pasid_bits", "addr_width", "first_level.format"]),
        ("pasid_bits,vtd.ecap.nest,label.pool,hw.pasid_bits", ["pasid_bits", "vtd.ecap.nest", "hw.pasid_bits"]),
        ("vtd.ecap.nest", ["vtd.ecap.nest"]),
        ("hostname,kernel", []),
    ]

    @Test("fields= answers equal the full answer with its facts objects cut, now, as_of and as_of_revision")
    func compactEqualsSubset() throws {
        let t = try TestAPI()
        let fleet = SyntheticFleet(hosts: 30, days: 3, seed: 4)
        try t.pushFleet(fleet)
        let newest = try #require(try t.get("/v1/hosts?limit=1").json["revision"] as? Int)
        let asOf = RFC3339.format(fleet.start.addingTimeInterval(1.5 * 86_400))
        var compared = 0
        for reference in ["", "&as_of=\(q(asOf))", "&as_of_revision=\(newest / 2)"] {
            for expr in ["", #"pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20"#, "has(iommu.vendor) and not nesting"] {
                for limit in [7, 1000] {
                    let base = "/v1/hosts?limit=\(limit)\(reference)" + (expr.isEmpty ? "" : "&where=\(q(expr))")
                    let full = try t.get(base)
                    #expect(full.status == 200, "\(base): \(full.text.prefix(300))")
                    for c in Self.cases {
                        let compact = try t.get(base + "&fields=\(q(c.fields))")
                        #expect(compact.status == 200, "\(c.fields): \(compact.text.prefix(300))")
                        let expected = Self.steady(Self.cut(full.text, keeping: c.facts))
                        #expect(Self.steady(compact.text) == expected, "\(base)&fields=\(c.fields)")
                        compared += 1
                    }
                }
            }
        }
        #expect(compared == 3 * 3 * 2 * Self.cases.count)
    }

    /// The answer without what moves with the clock between two requests now (the reference time and ages).
    static func steady(_ body: String) -> String {
        var s = body
        for pattern in [#""reference_time":"[^"]*""#, #""age_seconds":[0-9]+"#, #""data_age_seconds":(null|\{[^}]*\})"#] {
            s = s.replacingOccurrences(of: pattern, with: "", options: .regularExpression)
        }
        return s
    }

    /// `body` with each `"facts":{…}` object (flat: names to true, false, numbers or strings) keeping only
    /// the members named in `keeping`, in their order, as written.
    static func cut(_ body: String, keeping: Set<String>) -> String {
        let b = Array(body.utf8)
        let marker = Array(#""facts":{"#.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            guard i + marker.count <= b.count, Array(b[i..<(i + marker.count)]) == marker else {
                out.append(b[i])
                i += 1
                continue
            }
            out += marker
            i += marker.count
            var kept: [[UInt8]] = []
            func stringEnd(_ start: Int) -> Int {  // index after the closing quote of the string at `start`
                var j = start + 1
                while b[j] != 0x22 { j += b[j] == 0x5C ? 2 : 1 }
                return j + 1
            }
            while b[i] != 0x7D {
                let start = i
                let keyEnd = stringEnd(i)
                let name = String(decoding: b[(start + 1)..<(keyEnd - 1)], as: UTF8.self)
                var j = keyEnd + 1  // past the colon
                if b[j] == 0x22 { j = stringEnd(j) } else { while b[j] != 0x2C && b[j] != 0x7D { j += 1 } }
                if keeping.contains(name) { kept.append(Array(b[start..<j])) }
                i = b[j] == 0x2C ? j + 1 : j
            }
            out += Array(kept.joined(separator: [0x2C]))
            out.append(0x7D)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
