@testable import Dashboard
import Decoders
import Foundation
@testable import Store
import StoreSQLite
import Testing

@Suite("Timeline steps")
struct TimelineTests {
    @Test("each step says what it gained, lost and changed, and the kernel before and after")
    func steps() {
        let t0 = Date(timeIntervalSince1970: 1_000), t1 = Date(timeIntervalSince1970: 2_000), t2 = Date(timeIntervalSince1970: 3_000)
        let versions = [
            HostVersion(validFrom: t0, validTo: t1, kernelRelease: "5.15.0-91-generic",
                        facts: [Fact("nesting", true), Fact("pasid_bits", int: 20), Fact("vfio.caps", text: "iova_range")]),
            HostVersion(validFrom: t1, validTo: t2, kernelRelease: "6.1.0-18-amd64",
                        facts: [Fact("nesting", true), Fact("pasid_bits", int: 16), Fact("vfio.dma_avail", int: 65535)]),
            HostVersion(validFrom: t2, validTo: nil, kernelRelease: "6.1.0-18-amd64", facts: [Fact("nesting", false)]),
        ]
        let steps = TimelineStep.steps(versions)
        #expect(steps.count == 3)
        #expect(steps[0].isFirst && steps[0].gained.isEmpty && steps[0].factCount == 3 && !steps[0].kernelChanged)
        #expect(steps[1].kernelBefore == "5.15.0-91-generic" && steps[1].kernel == "6.1.0-18-amd64" && steps[1].kernelChanged)
        #expect(steps[1].gained == [Fact("vfio.dma_avail", int: 65535)])
        #expect(steps[1].lost == [Fact("vfio.caps", text: "iova_range")])
        #expect(steps[1].changed == [TimelineStep.Change(name: "pasid_bits", before: .int(20), after: .int(16))])
        #expect(!steps[2].kernelChanged && steps[2].to == nil)
        #expect(steps[2].lost.map(\.name) == ["pasid_bits", "vfio.dma_avail"])
        #expect(steps[2].changed.map(\.name) == ["nesting"])
    }
}
