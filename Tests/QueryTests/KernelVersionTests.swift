import Decoders
import Query
import Testing

/// A version without a flavour is a series; with one it is an exact release. 5.10 sorts after 5.9.
@Suite struct KernelVersionTests {
    func version(_ text: String) throws -> KernelVersion { try KernelVersion.parse(text).get() }

    func holds(_ host: String, _ op: QueryOp, _ literal: String) throws -> Bool {
        try version(literal).matches(KernelRelease(host), op)
    }

    @Test func numericNotTextual() throws {
        #expect(try holds("5.10.0-56-amd64", .gt, "5.9"))
        #expect(try !holds("5.9.16", .ge, "5.10"))
        #expect(try holds("5.10.0", .ge, "5.10"))
        #expect(try holds("6.5.13", .lt, "6.6"))
        #expect(try !holds("6.6.0-rc3", .lt, "6.6"))
        #expect(try holds("10.0.0", .gt, "9.99"))
    }

    @Test func seriesSemantics() throws {
        #expect(try holds("5.10.200", .eq, "5.10"))
        #expect(try holds("5.10.200", .le, "5.10"))
        #expect(try !holds("5.10.200", .gt, "5.10"))
        #expect(try holds("5.11.0", .gt, "5.10"))
        #expect(try !holds("5.11.0", .eq, "5.10"))
        #expect(try holds("6.1.55-1", .eq, "6"))
        #expect(try !holds("6.1.55", .eq, "6.1.5"))
        #expect(try holds("6.1.5-generic", .eq, "6.1.5"))
    }

    @Test func exactReleaseWithFlavour() throws {
        #expect(try holds("6.1.0-18-amd64", .eq, "6.1.0-18-amd64"))
        #expect(try !holds("6.1.0-19-amd64", .eq, "6.1.0-18-amd64"))
        #expect(try holds("6.1.0-19-amd64", .gt, "6.1.0-18-amd64"))
        #expect(try holds("6.1.0", .lt, "6.1.0-18-amd64"))
        #expect(try version("6.1.0-18-amd64").upper == nil)
    }

    /// For every op, `op` and its negation split every release exactly.
    @Test func operatorsComplement() throws {
        let releases = ["5.9.16", "5.10.0", "5.10.0-56-amd64", "5.10.200", "5.11.1", "6.1.0-18-amd64", "6.6.0-rc3", "7.0.1"]
        for literal in ["5.10", "5", "5.10.0", "6.1.0-18-amd64", "6.6"] {
            for release in releases {
                for op in QueryOp.allCases {
                    #expect(try holds(release, op, literal) != holds(release, op.negated, literal), "\(release) \(op.rawValue) \(literal)")
                }
            }
        }
    }

    @Test func refusals() {
        #expect(KernelVersion.parse("") == .failure(.notAVersion))
        #expect(KernelVersion.parse("v5.10") == .failure(.notAVersion))
        #expect(KernelVersion.parse("linux") == .failure(.notAVersion))
        #expect(KernelVersion.parse("5.1000000") == .failure(.componentTooLarge))
    }
}
