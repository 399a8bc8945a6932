import API
import Foundation
import Store
import StoreSQLite
import Testing

/// A retracted report is listed, with its reason, in GET /v1/hosts/{host}/history and on the host page;
/// the versions are the history without it.
@Suite struct RetractionPageTests {
    @Test func historyAndHostPageListRetractedReports() throws {
        let s = try DashboardServer()
        let now = Date()
        try s.ingest([report("h-retract", at: now.addingTimeInterval(-7200), id: "good"),
                      report("h-retract", at: Date(timeIntervalSince1970: 4_102_444_800), host: 1, id: "far")])  // 2100
        let before = try s.get("/v1/hosts/h-retract/history").json
        #expect((before["retractions"] as? [Any])?.isEmpty == true)
        #expect((before["versions"] as? [[String: Any]])?.count == 2)
        _ = try s.store.retract(reportId: "far", reason: "clock <ahead>")

        let after = try s.get("/v1/hosts/h-retract/history").json
        let versions = try #require(after["versions"] as? [[String: Any]])
        #expect(versions.count == 1 && versions[0]["valid_to"] is NSNull, "\(versions)")
        let listed = try #require((after["retractions"] as? [[String: Any]])?.first)
        #expect(listed["report_id"] as? String == "far" && listed["reason"] as? String == "clock <ahead>")
        #expect(listed["collected_at"] as? String == "2100-01-01T00:00:00.000Z")
        #expect(listed["revision"] as? Int == 3)

        let page = try s.get("/ui/host?name=h-retract")
        #expect(page.status == 200)
        #expect(page.text.contains("<h2>Retracted reports (1)</h2>") && page.text.contains("<td>clock &lt;ahead&gt;</td>"), "\(page.text)")
    }
}
