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
        ("registry = https://r.example\n", "a.conf:1: registry must be an http:// URL"),
        ("label. = x\n", "a.conf:1: label names"),
        ("spool =\n", "a.conf:1: spool: empty value"),
    ])
    func errorsNameFileAndLine(_ text: String, _ expected: String) {
        #expect(throws: CollectorConfig.ParseError.self) { try CollectorConfig.parse(text, file: "a.conf") }
        do { _ = try CollectorConfig.parse(text, file: "a.conf") } catch {
            #expect(error.description.hasPrefix(expected), "\(error)")
        }
    }
}
