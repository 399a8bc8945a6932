import Decoders
import API
import Dashboard
import Foundation
import Report
import Store
import StoreSQLite
import Testing
import RegistryClient
@testable import Synthetic

@Suite("Dashboard pages over a temporary store")
struct PageTests {
    static let fleet = SyntheticFleet(hosts: 30, days: 6)

    @Test("every page is HTML with the strict Content-Security-Policy, and no script anywhere")
    func headers() throws {
        let s = try DashboardServer()
        try s.ingest(Self.fleet)
        for target in ["/", "/ui/query", "/ui/query?where=nesting", "/ui/host?name=host-000001", "/ui/changes?since=2025-01-02&until=2025-01-05",
                       "/ui/audits?from=2025-01-02&to=2025-01-06"] {
            let r = try s.get(target)
            #expect(r.status == 200, "\(target): \(r.text.prefix(300))")
            #expect(r.header("Content-Type") == "text/html; charset=utf-8")
            let csp = r.header("Content-Security-Policy") ?? ""
            #expect(csp.hasPrefix("default-src 'none'; style-src 'sha256-"), "\(csp)")
            #expect(!csp.contains("unsafe"))
            #expect(r.header("X-Content-Type-Options") == "nosniff")
            #expect(!r.text.contains("<script"), "\(target)")
            #expect(!r.text.contains(" style=\""), "\(target): a style attribute would be refused by the CSP")
            #expect(r.text.hasPrefix("<!doctype html>"))
        }
    }

    @Test("the style hash in the policy is the SHA-256 of the page's one <style> element")
    func styleHash() throws {
        let s = try DashboardServer()
        let r = try s.get("/")
        let text = r.text
        let css = try #require(text.range(of: "<style>").flatMap { open in
            text.range(of: "</style>", range: open.upperBound..<text.endIndex).map { String(text[open.upperBound..<$0.lowerBound]) }
        })
        var h = SHA256()
        h.update(css)
        let hex = Array(h.finalize().utf8)
        func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : c - 0x61 + 10 }
        let digest = Data((0..<32).map { nibble(hex[$0 * 2]) << 4 | nibble(hex[$0 * 2 + 1]) }).base64EncodedString()
        #expect(r.header("Content-Security-Policy")?.contains("'sha256-\(digest)'") == true)
    }

    @Test("an empty registry says so instead of drawing empty charts")
    func emptyOverview() throws {
        let s = try DashboardServer()
        let r = try s.get("/")
        #expect(r.status == 200)
        #expect(r.text.contains("No host has reported yet."))
        #expect(!r.text.contains("<svg"))
    }

    @Test("overview: vendors, kernels, the capability matrix from the store's counts, and stale hosts by --stale-after")
    func overview() throws {
        let s = try DashboardServer(staleAfter: DurationText(seconds: 7200))
        let now = Date()
        try s.ingest([report("fresh-host", at: now.addingTimeInterval(-600), host: 0),
                      report("silent-host", at: now.addingTimeInterval(-3 * 3600), host: 1),
                      report("gone-host", at: now.addingTimeInterval(-9 * 86_400), host: 2)])
        let text = try s.get("/").text
        #expect(text.contains("2 of 3 hosts have not reported in the last 2h"))
        #expect(text.contains(">silent-host</a>") && text.contains(">gone-host</a>"))
        #expect(!text.contains(">fresh-host</a>"))
        // Longest silent first.
        #expect(text.range(of: ">gone-host</a>")!.lowerBound < text.range(of: ">silent-host</a>")!.lowerBound)
        #expect(text.contains("9 d 0 h"))

        let t = try DashboardServer()
        try t.ingest(Self.fleet)
        let page = try t.get("/").text
        let stats = try t.store.fleetStats()
        #expect(page.contains("<b>\(stats.hosts)</b><span>hosts</span>"))
        #expect(page.contains("<b>\(stats.nesting)</b><span>nesting</span>"))
        #expect(page.contains("<svg role=\"img\" aria-label=\"Hosts by IOMMU vendor, split by first-level format\""))
        // Vendor × first-level format, counted here from every host's current facts.
        var pairs: [String: Int] = [:]
        for h in try t.store.hosts() {
            let facts = Dictionary(h.facts.map { ($0.name, $0.value.description) }, uniquingKeysWith: { a, _ in a })
            pairs["\(facts["iommu.vendor"] ?? "unknown")|\(facts["first_level.format"] ?? "unknown")", default: 0] += 1
        }
        #expect(pairs.count >= 2)
        for (pair, count) in pairs {
            let (vendor, format) = (pair.split(separator: "|")[0], pair.split(separator: "|")[1])
            let formatTerm = format == "unknown" ? "not known(first_level.format)" : "first_level.format = \"\(format)\""
            let link = Links.query([("where", "iommu.vendor = \"\(vendor)\" and \(formatTerm)")])
            #expect(page.contains("<tr><td class=\"mono\">\(vendor)</td><td class=\"mono\">\(format)</td><td class=\"num\"><a href=\"\(HTML.escape(link))\">\(count)</a></td></tr>"), "\(pair)")
        }
        // One matrix row per current kernel, with the nesting count the store gives.
        for row in try t.store.kernelSummaries(after: nil, limit: 100).rows {
            let k = row.summary
            #expect(page.contains("<td class=\"mono\">\(k.release)</td><td class=\"num\">\(k.hosts)</td>"), "\(k.release)")
            let share = k.nesting * 100 / k.hosts
            let link = Links.query([("where", "kernel = \"\(k.release)\" and nesting")])
            #expect(page.contains("<a href=\"\(HTML.escape(link))\">\(k.nesting)<small>\(share)%</small></a>"), "\(k.release)")
        }
    }

    @Test("query: the same hosts as GET /v1/hosts, sortable columns, CSV of every match")
    func query() throws {
        let s = try DashboardServer()
        try s.ingest(Self.fleet)
        let expr = "hw.nesting and hw.pasid_bits >= 16"
        // The dashboard lists every match; the API leaves stale hosts out unless asked (the fleet is dated 2025).
        let api = try s.get("/v1/hosts?where=\(q(expr))&limit=1000&fresh_within=off").json["hosts"] as? [[String: Any]] ?? []
        let names = api.compactMap { $0["hostname"] as? String }
        #expect(!names.isEmpty)
        let page = try s.get("/ui/query?where=\(q(expr))").text
        #expect(page.contains("\(names.count) matching host"))
        for name in names { #expect(page.contains(">\(name)</a></td>")) }
        #expect(page.contains("aria-sort=\"ascending\""))
        #expect(page.contains("<th aria-sort=\"none\"><a href=\"/ui/query?where=hw.nesting%20and%20hw.pasid_bits%20%3E%3D%2016&amp;sort=hw.pasid_bits\">hw.pasid_bits</a></th>"))

        let desc = try s.get("/ui/query?where=\(q(expr))&sort=hostname&order=desc").text
        let first = try #require(names.last), last = try #require(names.first)
        #expect(desc.range(of: ">\(first)</a>")!.lowerBound < desc.range(of: ">\(last)</a>")!.lowerBound)

        // A page of 3 says more match; one CSV download (under the row limit) has every one, and no next link.
        #expect(try s.get("/ui/query?where=\(q(expr))&limit=3").text.contains("The first 3 matching hosts"))
        let csv = try s.get("/ui/query?where=\(q(expr))&format=csv")
        #expect(csv.status == 200)
        #expect(csv.header("Content-Type") == "text/csv; charset=utf-8")
        #expect(csv.header("Content-Disposition") == "attachment; filename=\"capreg-hosts.csv\"")
        #expect(csv.header("Link") == nil && csv.header("X-Next-Cursor") == nil)
        let lines = csv.text.components(separatedBy: "\r\n").dropLast()
        #expect(lines.first == "hostname,kernel,hw.nesting,hw.pasid_bits")
        #expect(lines.dropFirst().map { String($0.prefix { $0 != "," }) } == names)
    }

    @Test("CSV: at most limit rows (capped by QueryTable.csvRowLimit) per download; Link rel=next reaches the rest")
    func csvPages() throws {
        let s = try DashboardServer()
        try s.ingest(Self.fleet)
        let expr = "hw.nesting and hw.pasid_bits >= 16"
        let all = try s.get("/ui/query?where=\(q(expr))&format=csv").text.components(separatedBy: "\r\n").dropLast().dropFirst()
        #expect(all.count > 6)
        var rows: [String] = []
        var target: String? = "/ui/query?where=\(q(expr))&sort=hw.pasid_bits&order=desc&limit=3&format=csv"
        var downloads = 0
        while let t = target, downloads < 100 {
            let r = try s.get(t)
            #expect(r.status == 200, "\(t): \(r.text.prefix(200))")
            let lines = r.text.components(separatedBy: "\r\n").dropLast()
            #expect(lines.first == "hostname,kernel,hw.nesting,hw.pasid_bits")
            let page = Array(lines.dropFirst())
            #expect(page.count <= 3)
            // Sorted within the download: pasid_bits descending.
            let bits = page.map { Int($0.split(separator: ",", omittingEmptySubsequences: false)[3]) ?? -1 }
            #expect(bits == bits.sorted(by: >), "\(page)")
            rows += page
            downloads += 1
            target = nil
            if let link = r.header("Link") {
                let cursor = try #require(r.header("X-Next-Cursor"))
                #expect(link.hasPrefix("</ui/query?") && link.hasSuffix(">; rel=\"next\""))
                #expect(link.contains("&cursor=\(q(cursor))") && link.contains("&limit=3") && link.contains("&sort=hw.pasid_bits&order=desc"))
                target = String(link.dropFirst().prefix { $0 != ">" })
            } else {
                #expect(r.header("X-Next-Cursor") == nil)
            }
        }
        #expect(downloads == (all.count + 2) / 3)
        #expect(rows.sorted() == all.sorted())
        #expect(Set(rows).count == rows.count)

        let over = try s.get("/ui/query?where=nesting&format=csv&limit=\(QueryTable.csvRowLimit + 1)")
        #expect(over.status == 400)
        #expect(over.text.contains("limit: expected an integer within 1…\(QueryTable.csvRowLimit)"))
        #expect(try s.get("/ui/query?where=nesting&format=csv&limit=\(QueryTable.csvRowLimit)").status == 200)
        #expect(try s.get("/ui/query?where=nesting&limit=\(HostQueryLimits.max + 1)").status == 400)
        let forged = try s.get("/ui/query?where=nesting&format=csv&cursor=not-a-cursor")
        #expect(forged.status == 400)
        #expect(forged.text.contains("cursor: the cursor is not one this registry handed out"))
    }

    @Test("a refused expression reads exactly as the API's error, with a caret and the nearest names as fixes")
    func queryErrors() throws {
        let s = try DashboardServer()
        try s.ingest(Self.fleet)
        for expr in ["pasid_bits > 16 and kernal >= \"6\"", "pasid_bits >=", "pasid_bits > \"16\"", "nesting and (pasid_bind"] {
            let api = try s.get("/v1/hosts?where=\(q(expr))")
            let message = try #require((api.json["error"] as? [String: Any])?["message"] as? String)
            let page = try s.get("/ui/query?where=\(q(expr))")
            #expect(page.status == api.status)
            #expect(page.text.contains("<b>\(HTML.escape(message))</b>"), "\(message)")
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        }
        let page = try s.get("/ui/query?where=\(q("pasid_bits > 16 and kernal >= \"6\""))").text
        #expect(page.contains("where: at 20: unknown name &#39;kernal&#39;; did you mean kernel?"))
        #expect(page.contains("<pre class=\"mono\">pasid_bits &gt; 16 and kernal &gt;= &quot;6&quot;\n" + String(repeating: " ", count: 20) + "^</pre>"))
        let fixed = Links.query([("where", "pasid_bits > 16 and kernel >= \"6\"")])
        #expect(page.contains("<a href=\"\(HTML.escape(fixed))\">kernel</a>"))
        // Fields are refused the same way.
        let fields = try s.get("/ui/query?where=nesting&fields=\(q("label.rack, pasid_bitz"))")
        #expect(fields.status == 400)
        #expect(fields.text.contains("fields: at 12: unknown name &#39;pasid_bitz&#39;"))
        // Parameters too: the API's message, as a page.
        let unknown = try s.get("/ui/query?wehre=nesting")
        #expect(unknown.status == 400)
        #expect(unknown.text.contains("wehre: unknown parameter (accepted: cursor, fields, format, limit, order, sort, where)"))
        let order = try s.get("/ui/query?where=nesting&order=down")
        #expect(order.status == 400)
        #expect(order.text.contains("order: expected asc or desc, found &quot;down&quot;"))
        let format = try s.get("/ui/query?where=nesting&format=xml")
        #expect(format.status == 400)
        #expect(format.text.contains("format: expected html or csv"))
    }

    @Test("host page: units with decoded values and raw bytes, and a timeline of kernel upgrades with gains and losses")
    func hostPage() throws {
        let s = try DashboardServer()
        let fleet = SyntheticFleet(hosts: 8, days: 1)
        try s.ingest(fleet.versionedReports(host: 5, versions: 4))
        let name = fleet.versionedReports(host: 5, versions: 1)[0].host.hostname
        let r = try s.get("/ui/host?name=\(q(name))")
        #expect(r.status == 200)
        let detail = try #require(try s.store.hostDetail(hostname: name))
        for cap in detail.capabilities {
            #expect(r.text.contains("<h3 class=\"mono\">\(cap.unit)</h3>"))
            #expect(r.text.contains("<td class=\"mono nw\">\(cap.capability)</td>"))
        }
        // The first raw bytes of the first capability, as the hex dump prints them.
        let first = try #require(detail.capabilities.first)
        #expect(r.text.contains("0000  " + first.raw.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")))
        let steps = TimelineStep.steps(try s.store.history(hostname: name))
        #expect(steps.count >= 2)
        for step in steps where step.kernelChanged {
            #expect(r.text.contains("\(HTML.escape(step.kernelBefore ?? "")) → \(HTML.escape(step.kernel ?? ""))"))
            for f in step.gained { #expect(r.text.contains("<span class=\"tag gain\">gained</span> <span class=\"mono\">\(f.name) = ")) }
        }
        #expect(r.text.contains("first report"))
        // Each usable fact beside its hardware half and the kernel's evidence, as stored.
        let facts = Dictionary(detail.state.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(r.text.contains("<h2>What a VM can get here, and why</h2>"))
        for name in CrossVendor.usableNames {
            let evidence = try #require(facts[CrossVendor.evidence(name)]?.description, "\(name) has evidence")
            #expect(r.text.contains("<tr><td class=\"mono\">\(name)</td><td class=\"mono\">\(DisplayText.value(facts[name]))</td>"
                                    + "<td class=\"mono\">\(DisplayText.value(facts[CrossVendor.hw(name)]))</td><td>\(HTML.escape(evidence))</td></tr>"), "\(name)")
        }

        let missing = try s.get("/ui/host?name=nope")
        #expect(missing.status == 404)
        #expect(missing.text.contains("no host named nope"))
    }

    @Test("a hostname and labels carrying markup are shown as text everywhere they appear")
    func hostileHostname() throws {
        let s = try DashboardServer(staleAfter: DurationText(seconds: 60))
        let evil = "<img src=x onerror=alert(1)><b>evil</b>"
        try s.ingest([report(evil, at: Date().addingTimeInterval(-7200), labels: ["rack": "\"><script>alert(2)</script>"])])
        let escaped = "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;evil&lt;/b&gt;"
        for target in ["/", "/ui/query?where=", "/ui/host?name=\(q(evil))", "/ui/changes?since=2020-01-01"] {
            let r = try s.get(target)
            #expect(r.status == 200, "\(target)")
            #expect(r.text.contains(escaped), "\(target)")
            #expect(!r.text.contains("<b>evil"), "\(target)")
            #expect(!r.text.contains("<img"), "\(target)")
            #expect(!r.text.contains("<script"), "\(target)")
        }
        let host = try s.get("/ui/host?name=\(q(evil))").text
        #expect(host.contains("rack = &quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"))
    }

    @Test("CSV download: hostname, kernel, labels a spreadsheet would run are guarded cell by cell (exact bytes)")
    func csvFormulaGuard() throws {
        let s = try DashboardServer()
        // TAB and CR lead no stored value (ingest refuses control characters); QueryTableTests covers their guard.
        var r = report("=cmd|' /C calc'!A0", at: Date(), labels: ["note": "@SUM(1)", "sum": "+1+2"])
        r.kernel.release = "-2+3"
        try s.ingest([r])
        let csv = try s.get("/ui/query?where=\(q("label.note = \"@SUM(1)\""))&fields=label.note,label.sum&format=csv")
        #expect(csv.status == 200, "\(csv.text)")
        #expect(csv.text == "hostname,kernel,label.note,label.sum\r\n\"'=cmd|' /C calc'!A0\",\"'-2+3\",\"'@SUM(1)\",\"'+1+2\"\r\n")
    }

    @Test("changes: the same hosts as GET /v1/changes for the window")
    func changes() throws {
        let s = try DashboardServer()
        try s.ingest(Self.fleet)
        let api = try s.get("/v1/changes?since=2025-01-02&until=2025-01-05").json["hosts"] as? [[String: Any]] ?? []
        #expect(!api.isEmpty)
        let page = try s.get("/ui/changes?since=2025-01-02&until=2025-01-05")
        #expect(page.status == 200)
        #expect(page.text.contains("\(api.count) hosts on this page changed"))
        for host in api {
            #expect(page.text.contains(">\(host["hostname"] as! String)</a></td>"))
        }
        #expect(page.text.contains("value=\"2025-01-02\"") && page.text.contains("value=\"2025-01-05\""))
        let empty = try s.get("/ui/changes?since=2030-01-01&until=2030-01-02")
        #expect(empty.text.contains("No host changed between 2030-01-01 and 2030-01-02"))
        let bad = try s.get("/ui/changes?since=yesterday")
        #expect(bad.status == 400)
        #expect(bad.text.contains("since: expected an RFC 3339 time"))
        let refused = try s.get("/ui/changes?since=2025-01-02&where=\(q("nestin"))")
        #expect(refused.status == 400)
        #expect(refused.text.contains("where: at 0: unknown name &#39;nestin&#39;"))
        let fix = Links.changes([("since", "2025-01-02"), ("until", "2025-01-05"), ("where", "nesting")])
        let refusedWindow = try s.get("/ui/changes?since=2025-01-02&until=2025-01-05&where=\(q("nestin"))")
        #expect(refusedWindow.text.contains("<a href=\"\(HTML.escape(fix))\">nesting</a>"))
    }

    @Test("with tokens, pages need a reader token like every GET; refusals are pages with the API's headers")
    func auth() throws {
        let s = try DashboardServer(tokens: true)
        let none = try APIClient(host: "127.0.0.1", port: s.server.port).get("/")
        #expect(none.status == 401)
        #expect(none.header("WWW-Authenticate") == "Bearer realm=\"capreg\"")
        #expect(none.header("Content-Type") == "text/html; charset=utf-8")
        #expect(none.text.contains("a bearer token is required"))
        #expect(try s.get("/ui/query", token: DashboardServer.collectorToken).status == 403)
        #expect(try s.get("/", token: DashboardServer.readerToken).status == 200)
        #expect(try s.get("/ui/changes", token: DashboardServer.readerToken).status == 200)
        let post = try APIClient(host: "127.0.0.1", port: s.server.port, token: DashboardServer.readerToken).request("POST", "/")
        #expect(post.status == 405)
        #expect(post.header("Allow") == "GET, HEAD")
    }
}
