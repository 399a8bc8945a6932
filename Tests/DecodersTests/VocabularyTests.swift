import Foundation
import Testing
@testable import Decoders

@Suite struct VocabularyTests {
    @Test func namesAreUniqueDottedAndLowercase() {
        var seen = Set<String>()
        for e in Vocabulary.all {
            #expect(seen.insert(e.name).inserted, "duplicate vocabulary name \(e.name)")
            #expect(e.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "." || $0 == "_" }, "\(e.name) is not lowercase dotted")
            #expect(!e.meaning.isEmpty && !e.source.isEmpty, "\(e.name) lacks a meaning or source")
        }
    }

    /// Every fact any decoder emits on the real captures is in the vocabulary, with the declared type.
    @Test func everyEmittedFactIsDocumentedWithItsType() throws {
        var facts: [Fact] = []
        for folder in Captures.folders {
            facts += try BlobDecoder.decode(.vfioInfo, bytes: try Captures.hexFile(folder, "vfio-info.hex")).facts
            let dir = "sysfs/class/iommu/dmar0/intel-iommu/"
            let text = try Captures.text(folder, dir + "cap") + " " + Captures.text(folder, dir + "ecap")
            facts += try BlobDecoder.decode(.vtdRegs, bytes: [], registerText: text).facts
        }
        #expect(facts.count > 100)
        for fact in facts {
            let entry = Vocabulary.entry(fact.name)
            #expect(entry != nil, "\(fact.name) is emitted but not in the vocabulary")
            #expect(entry == nil || entry!.type == fact.value.type, "\(fact.name) declared \(entry!.type) but emitted \(fact.value.type)")
        }
    }

    /// docs/capabilities.md is generated from the vocabulary; regenerate with
    /// `swift run capreg vocabulary --markdown > docs/capabilities.md`.
    @Test func capabilitiesDocumentIsCurrent() throws {
        let repoDocs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/capabilities.md")
        let text = try String(contentsOf: repoDocs, encoding: .utf8)
        #expect(text == VocabularyDocument.markdown(), "docs/capabilities.md is stale: regenerate it with capreg vocabulary --markdown")
    }
}
