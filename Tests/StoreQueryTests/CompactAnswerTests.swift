import Decoders
import Foundation
import Query
@testable import Store
import Testing
import TestSupport

/// Issue 16: a `fields=` page now reads its kernel, state time and key facts from the page statement's
/// `hosts` row (the `cur_*` columns) and only the other named facts from current_facts. Whatever it reads
/// from, a compact answer must be the full answer's subset: the same hosts, pages, cursors, kernels,
/// times and labels, and exactly the named facts, encoded as the full object encodes them. Now, as of a
/// time and as of a revision; matches, stale hosts and explain's other side.
@Suite struct CompactAnswerTests {
    static let fieldSets: [Set<String>] = [
        [CrossVendor.pasidBits],
        // Every key fact, read from the hosts row alone.
        [CrossVendor.vendor, CrossVendor.nesting, CrossVendor.pasidBind, CrossVendor.pasidBits, CrossVendor.addrWidth,
         CrossVendor.firstLevelFormat],
        // Key facts with others (merged in name order), and others alone.
        [CrossVendor.pasidBits, "vtd.ecap.nest", "hw.pasid_bits", "evidence.nesting", CrossVendor.firstLevelFormat],
        ["vtd.ecap.nest", "kernel.release"],
        // Names no host has, and none at all.
        ["no.such.fact", CrossVendor.nesting],
        [],
    ]

    @Test func aCompactAnswerIsTheFullAnswersSubset() throws {
        let dir = try TempDir()
        let (store, fleet) = try Fleet.synthetic(dir, hosts: 40, days: 4, seed: 16)
        let newest = try store.answer(HostQueryRequest(nil)).revision
        let later = fleet.start.addingTimeInterval(4 * 86_400)
        let references: [QueryReference] = [.now, .time(fleet.start.addingTimeInterval(1.5 * 86_400)), .revision(newest / 2)]
        let expressions: [QueryExpr?] = [
            nil,
            try QueryParser.parse(#"pasid_bind and first_level.format = "intel-vtd" and pasid_bits >= 20"#),
            try QueryParser.parse("has(iommu.vendor) and not nesting"),
        ]
        var compared = 0
        for reference in references {
            for expr in expressions {
                for fields in Self.fieldSets {
                    for explain in [false, true] {
                        // A day's freshness bound leaves some hosts stale; small pages walk cursors.
                        var full = HostQueryRequest(expr, reference: reference, fields: nil, limit: 7, freshWithin: 86_400,
                                                    notMatching: explain, totals: true)
                        var compact = full
                        compact.fields = fields
                        var pages = 0
                        repeat {
                            let a = try store.answer(full, now: later)
                            let b = try store.answer(compact, now: later)
                            #expect(a.revision == b.revision && a.referenceTime == b.referenceTime)
                            #expect(a.matchTotal == b.matchTotal && a.staleTotal == b.staleTotal && a.notMatchingTotal == b.notMatchingTotal)
                            expectSubset(b.matches, of: a.matches, fields, "\(reference) \(String(describing: expr)) \(fields)")
                            // Stale hosts carry no facts either way; explain's side names the facts it needs.
                            if let s = a.stale, let t = b.stale { expectSubset(t, of: s, [], "stale") } else { #expect(a.stale == nil && b.stale == nil) }
                            #expect(a.notMatching == b.notMatching)
                            compared += b.matches.hosts.count
                            full.cursor = a.matches.nextCursor
                            compact.cursor = b.matches.nextCursor
                            pages += 1
                        } while full.cursor != nil && pages < 20
                    }
                }
            }
        }
        #expect(compared > 1000, "the fleet must give the comparison something to compare")
    }

    func expectSubset(_ compact: HostPage, of full: HostPage, _ fields: Set<String>, _ context: String) {
        #expect(compact.nextCursor == full.nextCursor, "\(context)")
        #expect(compact.hosts.map(\.hostname) == full.hosts.map(\.hostname), "\(context)")
        for (b, a) in zip(compact.hosts, full.hosts) {
            #expect(b.kernelRelease == a.kernelRelease && b.reportedAt == a.reportedAt && b.labels == a.labels, "\(context): \(a.hostname)")
            let subset = a.facts.filter { fields.contains($0.name) }
            #expect(b.facts == subset, "\(context): \(a.hostname)")
            // The bytes the API sends: the full object's members, in its order.
            #expect(b.factsJSON == DecodedJSON.currentFacts(subset.map { (key: $0.name, value: $0.value) }), "\(context): \(a.hostname)")
        }
    }

    /// The key-fact columns are typed as the vocabulary types the facts (a page reads them back as such).
    @Test func keyColumnsAreTypedByTheVocabulary() {
        for name in HostQuerySQL.keyColumns.keys {
            #expect(Vocabulary.entry(name) != nil, "\(name)")
        }
        let all = HostPageReads.NowColumns(fields: Set(HostQuerySQL.keyColumns.keys))
        #expect(all.keys.count == HostQuerySQL.keyColumns.count && all.others == [])
        #expect(all.keys.map(\.name) == all.keys.map(\.name).sorted(by: DecodedJSON.utf8Precedes))
    }
}
