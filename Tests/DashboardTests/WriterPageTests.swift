import API
import Foundation
import RegistryClient
import Report
import Store
import StoreSQLite
import Testing

/// The host page's timeline says which report each step comes from, who wrote it and from where; the
/// peer text goes through the page's escaping like everything else.
@Suite struct WriterPageTests {
    @Test func theTimelineShowsWhoWroteEachStepEscaped() throws {
        let s = try DashboardServer()
        let now = Date()
        // A peer no server would see, written straight to the store: the page must still show it as text.
        let hostile = try Writer(identity: "cred:0123456789abcdef", peer: "<img src=x onerror=alert(1)>")
        _ = try s.store.ingest([report("h-writer", at: now.addingTimeInterval(-7200), id: "first")], writer: hostile)
        _ = try s.store.ingest([report("h-writer", at: now.addingTimeInterval(-3600), host: 1, id: "second")])
        // The server with auth off records the caller's address as its identity, and the peer.
        let pushed = try APIClient(host: "127.0.0.1", port: s.server.port, token: nil)
            .request("POST", "/v1/reports", body: Array(try Report.encoder.encode([report("h-writer", at: now, host: 2, id: "third")])),
                     headers: [("Content-Type", "application/json")])
        #expect(pushed.status == 200, "\(pushed.text)")

        let page = try s.get("/ui/host?name=h-writer")
        #expect(page.status == 200)
        let text = page.text
        #expect(text.contains("report <span class=\"mono\">first</span> · written by <span class=\"mono\">cred:0123456789abcdef</span> "
                              + "from <span class=\"mono\">&lt;img src=x onerror=alert(1)&gt;</span>"), "\(text)")
        #expect(!text.contains("<img src=x"))
        #expect(text.contains("report <span class=\"mono\">second</span> · written by <span class=\"muted\">unknown</span></div>"))
        #expect(text.contains("report <span class=\"mono\">third</span> · written by <span class=\"mono\">ip:127.0.0.1</span> "
                              + "from <span class=\"mono\">127.0.0.1</span>"))
    }
}
