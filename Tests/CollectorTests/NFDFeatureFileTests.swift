@testable import Collector
import Decoders
import Foundation
import Report
import Testing
import TestSupport
import Timestamps

/// The NFD feature file: the cross-vendor facts a Kubernetes label can carry, under NFD's rules, written
/// whole or not at all.
@Suite struct NFDFeatureFileTests {
    static let collected = Date(timeIntervalSince1970: 1_764_000_000)

    /// Kubernetes' own patterns (apimachinery's validation: a qualified name's prefix is a DNS-1123
    /// subdomain, its name and a label value the `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]` form, at most 63),
    /// written apart from the collector's byte tests.
    static func isKubernetesLabel(key: String, value: String) -> Bool {
        func matches(_ pattern: String, _ s: String) -> Bool {
            let regex = try! NSRegularExpression(pattern: "^(?:" + pattern + ")$")
            return regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
        }
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return false }
        let subdomain = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
        let name = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
        return parts[0].utf8.count <= 253 && matches(subdomain, parts[0]) && parts[1].utf8.count <= 63 && matches(name, parts[1])
            && value.utf8.count <= 63 && (value.isEmpty || matches(name, value))
    }

    @Test func labelsTheCrossVendorFactsALabelCanCarry() {
        let facts = [
            Fact("addr_width", .int(48)),
            Fact("evidence.nesting", .text("probe iommufd.hwpt_alloc.nest_parent = ok")),  // words: not a label, not counted
            Fact("first_level.format", .text("intel vtd")),  // a space: no label value
            Fact("hw.pasid_bits", .int(-1)),                  // a label value starts with a letter or digit
            Fact("iommu.vendor", .text("intel")),
            Fact("nesting", .bool(true)),
            Fact("pasid_bits", .int(20)),
            Fact("vtd.cap.nd", .int(6)),                      // a register field: not a label
        ].sorted { $0.name < $1.name }
        let file = NFDFeatureFile(directory: "/unused", expiry: 7200)
        let contents = file.contents(facts, collectedAt: Self.collected)
        #expect(NFDFeatureFile.factNames.isSuperset(of: ["nesting", "pasid_bits", "hw.nesting", "iommu.vendor"]))
        #expect(!NFDFeatureFile.factNames.contains { $0.hasPrefix("evidence.") || $0.hasPrefix("vtd.") })
        #expect(contents.text == """
            # capreg collector: this host's IOMMU facts (capreg vocabulary), rewritten every collection
            # +expiry-time=\(RFC3339.format(Self.collected.addingTimeInterval(7200)))
            feature.node.kubernetes.io/capreg-addr_width=48
            feature.node.kubernetes.io/capreg-iommu.vendor=intel
            feature.node.kubernetes.io/capreg-nesting=true
            feature.node.kubernetes.io/capreg-pasid_bits=20

            """)
        #expect(contents.labels == 4)
        #expect(contents.omitted == ["first_level.format", "hw.pasid_bits"])
        for line in contents.text.split(separator: "\n") where !line.hasPrefix("#") {
            let eq = line.firstIndex(of: "=")!
            #expect(Self.isKubernetesLabel(key: String(line[..<eq]), value: String(line[line.index(after: eq)...])), "\(line)")
        }
    }

    /// The byte test and Kubernetes' pattern agree, on edges and on random strings over the characters
    /// that matter.
    @Test func labelValuesAreKubernetesLabelValues() {
        var samples = ["", "a", "A9", "-a", "a-", "_a", "a_", ".a", "a.", "a.b-c_d", "a b", "é", String(repeating: "a", count: 63),
                       String(repeating: "a", count: 64), "0xfee00000-0xfeefffff", "true", "-1", "intel-vtd"]
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("aZ09-_./ é")
        for _ in 0..<2000 {
            samples.append(String((0..<Int.random(in: 0...5, using: &random)).map { _ in alphabet.randomElement(using: &random)! }))
        }
        for s in samples {
            #expect(NFDFeatureFile.isLabelValue(s) == Self.isKubernetesLabel(key: "p.io/n", value: s), "\(s.debugDescription)")
        }
    }

    /// Every fact that may become a label, each with a value of the most a label holds: still far below
    /// the 64 KiB past which NFD ignores the whole file.
    @Test func theLargestFileFitsNFDsBound() {
        let facts = NFDFeatureFile.factNames.sorted().map { Fact($0, .text(String(repeating: "v", count: 63))) }
        let contents = NFDFeatureFile(directory: "/unused", expiry: 7200).contents(facts, collectedAt: Self.collected)
        #expect(contents.labels == facts.count && contents.omitted.isEmpty)
        #expect(contents.text.utf8.count < NFDFeatureFile.maxBytes / 8, "\(contents.text.utf8.count) bytes")
    }

    static func collector(_ host: String) -> Collector {
        var o = Collector.Options()
        o.sysfsRoot = Fixtures.capture("scalable-aw48").appendingPathComponent("sysfs").path
        o.vfioGroups = .named([])
        o.iommufdDevices = .named([])
        o.hostname = host
        return Collector(options: o)
    }

    /// The agent rewrites the file at every collection, heartbeats included (the expiry moves on); a file
    /// it cannot write is a WARN, and the report is still spooled and delivered.
    @Test func theAgentRewritesItEveryRound() throws {
        let sink = try TestSink()
        defer { sink.stop() }
        let spoolDir = try TempDir(), nfdDir = try TempDir()
        let spool = try Spool(directory: spoolDir.url.path)
        let lines = Lines()
        let agent = Agent(collector: Self.collector("agent-nfd"), delivery: try DeliveryTests.delivery(spool, sink), log: lines.append,
                          nfd: NFDFeatureFile(directory: nfdDir.url.path, expiry: 600))
        let path = nfdDir.url.path + "/" + NFDFeatureFile.fileName
        #expect(agent.once(maxFailures: 1) == .delivered)
        let first = try String(contentsOfFile: path, encoding: .utf8)
        #expect(first.contains("feature.node.kubernetes.io/capreg-iommu.vendor=intel\n"))
        #expect(first.contains("feature.node.kubernetes.io/capreg-addr_width=48\n"))
        Thread.sleep(forTimeInterval: 0.01)
        #expect(agent.collectAndSpool(heartbeats: true) == .spooled)
        let second = try String(contentsOfFile: path, encoding: .utf8)
        #expect(second != first && second.split(separator: "\n").dropFirst(2) == first.split(separator: "\n").dropFirst(2),
                "a heartbeat round moves the expiry, the labels stay")
        #expect(lines.all.contains { $0.hasPrefix("INFO NFD feature file: 6 labels") }, "\(lines.all)")

        let broken = Agent(collector: Self.collector("agent-nfd"), delivery: try DeliveryTests.delivery(spool, sink), log: lines.append,
                           nfd: NFDFeatureFile(directory: nfdDir.url.path + "/absent", expiry: 600))
        #expect(broken.once(maxFailures: 1) == .delivered)
        #expect(lines.all.contains { $0.hasPrefix("WARN NFD feature file in \(nfdDir.url.path)/absent not written") }, "\(lines.all)")
    }

    /// Written as a dot file (which NFD skips) and renamed over the last one; readable by nfd-worker;
    /// nothing left behind; a directory that is not there is an error naming it.
    @Test func theFileIsReplacedWholeAndReadable() throws {
        let dir = try TempDir()
        let file = NFDFeatureFile(directory: dir.url.path, expiry: 600)
        let report = try Self.collector("nfd-host").collect(now: Self.collected, kernel: Report.Kernel(release: "6.1.0-56-amd64"))
        let first = try file.write(report)
        #expect(first.labels > 0)
        let path = dir.url.path + "/" + NFDFeatureFile.fileName
        #expect(try String(contentsOfFile: path, encoding: .utf8) == first.text)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        var later = report
        later.collectedAt = report.collectedAt.addingTimeInterval(3600)
        let second = try file.write(later)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == second.text)
        #expect(second.text != first.text, "the expiry moved with the collection")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == [NFDFeatureFile.fileName])

        let missing = NFDFeatureFile(directory: dir.url.path + "/absent", expiry: 600)
        #expect(throws: NFDFeatureFile.Failure.self) { try missing.write(report) }
        do { try missing.write(report) } catch {
            #expect("\(error)".contains(dir.url.path + "/absent") && "\(error)".contains("ENOENT"), "\(error)")
        }
    }
}
