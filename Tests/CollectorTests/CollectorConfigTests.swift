import Collector
import Testing

@Suite struct CollectorConfigTests {
    @Test func parsesEveryKey() throws {
        let c = try CollectorConfig.parse("""
            # comment
            registry = http://127.0.0.1:8080   # trailing comment
            token_file = /etc/capreg/token
            spool = /var/spool/capreg
            spool_max_bytes = 1048576
            interval = 3600

            vfio_groups = 12, 13
            iommufd_devices = all
            label.rack = r12
            hostname = h1
            """, file: "a.conf")
        #expect(c.registry == "http://127.0.0.1:8080" && c.tokenFile == "/etc/capreg/token" && c.spool == "/var/spool/capreg")
        #expect(c.spoolMaxBytes == 1048576 && c.interval == 3600 && c.hostname == "h1")
        #expect(c.vfioGroups == .named(["12", "13"]) && c.iommufdDevices == .all)
        #expect(c.labels == ["rack": "r12"])
    }

    @Test(arguments: [
        ("registry = http://x\nnonsense\n", "a.conf:2: expected `key = value`"),
        ("\n\nspool_max_bytes = lots\n", "a.conf:3: spool_max_bytes must be a positive"),
        ("vfio_groups = 12 x\n", "a.conf:1: vfio_groups: `x` is not a group number"),
        ("interval = 60\ninterval = 70\n", "a.conf:2: interval given twice"),
        ("colour = blue\n", "a.conf:1: unknown key `colour`"),
        ("registry = ftp://r.example\n", "a.conf:1: registry must be an https:// (or http://) URL"),
        ("label. = x\n", "a.conf:1: label.: key: empty"),
        ("label.-rack = x\n", "a.conf:1: label.-rack: key: names are ASCII letters, digits"),
        ("label.Example.io/zone = x\n", "a.conf:1: label.Example.io/zone: key: the prefix before `/` must be a DNS subdomain"),
        ("label.\(String(repeating: "k", count: 64)) = x\n", "a.conf:1: label.\(String(repeating: "k", count: 64)): key: name of 64 characters; at most 63"),
        ("label.rack = \(String(repeating: "v", count: 257))\n", "a.conf:1: label.rack: value of 257 characters; at most 256"),
        ("label.rack = r\u{1}2\n", "a.conf:1: label.rack: value contains U+0001 (a control character) at character 2"),
        ("label.rack = r\u{200B}2\n", "a.conf:1: label.rack: value contains U+200B (an invisible format character)"),
        ((0..<65).map { "label.k\($0) = v\n" }.joined(), "a.conf:65: label.k64: more than 64 labels"),
        ("spool =\n", "a.conf:1: spool: empty value"),
        ("nfd_expiry = 30\n", "a.conf:1: nfd_expiry must be a number of seconds ≥ 60, found `30`"),
    ])
    func errorsNameFileAndLine(_ text: String, _ expected: String) {
        #expect(throws: CollectorConfig.ParseError.self) { try CollectorConfig.parse(text, file: "a.conf") }
        do { _ = try CollectorConfig.parse(text, file: "a.conf") } catch {
            #expect(error.description.hasPrefix(expected), "\(error)")
        }
    }

    @Test("labels at the limits are taken: 64 of them, a 63-character name, a prefix, a 256-character value")
    func labelsAtTheLimits() throws {
        var lines = (0..<62).map { "label.k\($0) = v\n" }
        lines.append("label.\(String(repeating: "n", count: 63)) = \(String(repeating: "v", count: 256))\n")
        lines.append("label.topology.example.io/zone = eu-1a\n")
        let c = try CollectorConfig.parse(lines.joined(), file: "a.conf")
        #expect(c.labels.count == 64)
        #expect(c.labels["topology.example.io/zone"] == "eu-1a")
        #expect(c.labels[String(repeating: "n", count: 63)]?.count == 256)
    }
}
