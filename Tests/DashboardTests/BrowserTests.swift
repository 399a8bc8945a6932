import API
import Foundation
import Report
import Store
import StoreSQLite
import Testing
import TestSupport
import RegistryClient
@testable import Synthetic

/// The dashboard in a real headless Chromium against a real `capreg serve` on a `capreg synth` fleet,
/// plus one report whose hostname is markup. Screenshots go to test-output/dashboard/ (git-ignored).
@Suite("Dashboard in headless Chromium", .serialized)
struct BrowserTests {
    static let evil = "<img src=x onerror=alert(1)><b>evil</b>"
    /// How the markup hostname serializes when it is a text node in the DOM (and only then).
    static let evilAsText = "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;evil&lt;/b&gt;"

    @Test("pages load without console messages, screenshots are written, markup in a hostname stays text",
          .enabled(if: Chromium.find() != nil || Chromium.required,
                   "chromium not found (apt-get install chromium); CI sets CAPREG_BROWSER_REQUIRED=1 and fails instead"))
    func pages() throws {
        guard let path = Chromium.find() else {
            Issue.record("CAPREG_BROWSER_REQUIRED=1 but no chromium on PATH (or CAPREG_CHROMIUM)")
            return
        }
        let dir = try TempDir()
        let shots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("test-output/dashboard")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)

        let db = dir.path("fleet.sqlite")
        let synth = try CapregBinary.run(["synth", "--hosts", "120", "--days", "10", "--start", "2025-01-01", "--ingest", "--db", db])
        #expect(synth.status == 0, "\(synth.stderr)")
        // Stale: not seen since (about) the synthetic fleet's last day began (2025-01-10), so the hosts that
        // stopped reporting early are listed and the rest are not, whatever today's date.
        let lastDay = Date(timeIntervalSince1970: 1_735_689_600 + 9 * 86_400)
        let server = try CapregBinary.serve(db: db, log: dir.url.appendingPathComponent("serve.log"),
                                            extra: ["--stale-after", "\(Int(Date().timeIntervalSince(lastDay)) / 3600)h"])
        defer { server.stop() }

        // The hostile report arrives the way an agent's would: POST /v1/reports.
        var hostile = SyntheticFleet(hosts: 1, days: 1).report(host: 0, day: 0)!
        hostile.host.hostname = Self.evil
        hostile.host.labels = ["rack": "\"><script>alert(2)</script>"]
        hostile.reportId = "browser-test-evil"
        hostile.collectedAt = Date(timeIntervalSince1970: 1_735_689_600 + 86_400)
        let posted = try APIClient(host: "127.0.0.1", port: server.port).request(
            "POST", "/v1/reports", body: Array(try Report.encoder.encode(hostile)), headers: [("Content-Type", "application/json")])
        #expect(posted.status == 200, "\(posted.text)")

        let base = "http://127.0.0.1:\(server.port)"
        let chromium = Chromium(path: path, profile: dir.url.appendingPathComponent("profile"))
        let pages: [(name: String, target: String, height: Int, expect: String)] = [
            ("overview", "/", 1800, "Key capabilities by kernel release"),
            ("query", "/ui/query?where=" + q("pasid_bind and first_level.format = \"intel-vtd\"") + "&fields=pasid_bits,label.rack", 1400,
             "matching hosts"),
            ("query-sorted", "/ui/query?where=" + q("nesting") + "&fields=pasid_bits&sort=kernel&order=desc", 1100, "kernel ▼"),
            ("query-error", "/ui/query?where=" + q("pasid_bits > 16 and kernal >= \"6\""), 700,
             "where: at 20: unknown name 'kernal'; did you mean kernel?"),
            ("host", "/ui/host?name=host-000014", 2400, "Timeline"),  // four kernels in ten days
            ("changes", "/ui/changes?since=2025-01-03&until=2025-01-06", 1800, "What moved"),
            ("audits", "/ui/audits?from=2025-01-01&to=2025-01-10&fact=nesting", 2200, "What kernel upgrades changed"),
            ("host-markup", "/ui/host?name=" + q(Self.evil), 1400, Self.evilAsText),
            ("query-markup", "/ui/query?where=" + q("has(iommu.vendor)") + "&fields=label.rack&sort=label.rack", 900, Self.evilAsText),
        ]
        for page in pages {
            let dom = try chromium.dumpDOM(base + page.target)
            #expect(dom.status == 0, "\(page.name): chromium exited \(dom.status)\n\(dom.stderr.suffix(2000))")
            #expect(dom.console.isEmpty, "\(page.name): console messages:\n\(dom.console.joined(separator: "\n"))")
            #expect(dom.stdout.contains(page.expect.replacingOccurrences(of: "'", with: "'")), "\(page.name): \(dom.stdout.prefix(600))")
            // Whatever the page, the markup hostname is never an element.
            #expect(!dom.stdout.contains("<b>evil</b>"), "\(page.name)")
            #expect(!dom.stdout.contains("<img"), "\(page.name)")
            #expect(!dom.stdout.contains("<script"), "\(page.name)")

            let png = shots.appendingPathComponent("\(page.name).png")
            try? FileManager.default.removeItem(at: png)
            let shot = try chromium.screenshot(base + page.target, to: png, height: page.height)
            #expect(shot.status == 0, "\(page.name): \(shot.stderr.suffix(2000))")
            #expect(shot.console.isEmpty, "\(page.name): console messages:\n\(shot.console.joined(separator: "\n"))")
            let bytes = (try? Data(contentsOf: png)) ?? Data()
            #expect(bytes.count > 10_000 && bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(page.name): no screenshot at \(png.path)")
        }

        // The markup hostname's own page: the heading and the label are text nodes.
        let host = try chromium.dumpDOM(base + "/ui/host?name=" + q(Self.evil)).stdout
        #expect(host.contains("<h1 class=\"mono name\">\(Self.evilAsText)</h1>"))
        #expect(host.contains("rack = \"&gt;&lt;script&gt;alert(2)&lt;/script&gt;"))
        #expect(host.contains("<title>\(Self.evilAsText) · capreg</title>"))
        #expect(server.stop() == 0)
    }
}
