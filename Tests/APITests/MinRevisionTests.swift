import API
import Foundation
import Report
import Store
import Testing
@testable import Synthetic

/// Read-your-writes: POST answers each report's revision; a read with min_revision=N answers from a state
/// at least that new, waits a bounded time for it, and says 503 with Retry-After when it does not come.
@Suite("min_revision: reads no older than a write the caller was told about")
struct MinRevisionTests {
    static func reports(_ n: Int, seed: UInt64 = 9) -> [Report] {
        var out: [Report] = []
        SyntheticFleet(hosts: n, days: 1, seed: seed).forEachReport { out.append($0) }
        return out
    }

    @Test("a revision POST answered is readable at once, on every read endpoint")
    func theAnsweredRevisionIsReadable() throws {
        let t = try TestAPI()
        let posted = try t.push(Self.reports(3))
        #expect(posted.status == 200)
        let revisions = try #require(posted.json["results"] as? [[String: Any]]).compactMap { $0["revision"] as? Int }
        let newest = try #require(revisions.max())
        for path in ["/v1/hosts", "/v1/kernels", "/v1/stats"] {
            let r = try t.get("\(path)?min_revision=\(newest)")
            #expect(r.status == 200, "\(path): \(r.text.prefix(200))")
            #expect((r.json["revision"] as? Int ?? 0) >= newest, "\(path)")
        }
    }

    @Test("a revision not reached within the wait is a 503 naming the registry's revision, with Retry-After")
    func anUnreachedRevisionIs503() throws {
        let t = try TestAPI(minRevisionWait: .milliseconds(300))
        #expect(try t.push(Self.reports(2)).status == 200)
        let current = try t.store.currentRevision()
        let started = Date()
        let r = try t.get("/v1/hosts?min_revision=\(current + 5)")
        #expect(r.status == 503)
        #expect(r.header("Retry-After") == "1")
        #expect(r.error["code"] as? String == "revision_not_reached")
        #expect(r.error["revision"] as? Int == Int(current), "\(r.text)")
        #expect(Date().timeIntervalSince(started) >= 0.3)
    }

    @Test("a read waiting for a revision answers as soon as a write reaches it")
    func aWaitingReadAnswersWhenTheWriteLands() throws {
        let t = try TestAPI(minRevisionWait: .seconds(10))
        #expect(try t.push(Self.reports(2)).status == 200)
        let wanted = try t.store.currentRevision() + 1
        let later = Self.reports(1, seed: 10)
        let store = t.store  // another writer, 0.3 s later
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { _ = try? store.ingest(later) }
        let started = Date()
        let r = try t.get("/v1/hosts?min_revision=\(wanted)")
        #expect(r.status == 200, "\(r.text.prefix(200))")
        #expect(r.json["revision"] as? Int == Int(wanted))
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test("a bad min_revision, or one on a write, is a 400 naming it", arguments: ["0", "-1", "abc", "", "99999999999999999999"])
    func badValuesAreRefused(_ value: String) throws {
        let t = try TestAPI()
        let r = try t.get("/v1/hosts?min_revision=\(value)")
        #expect(r.status == 400)
        #expect(r.error["parameter"] as? String == "min_revision", "\(r.text)")
    }

    @Test("a request bad in another way is a 400 whatever its min_revision")
    func badRequestsAre400First() throws {
        let t = try TestAPI(minRevisionWait: .seconds(5))
        let started = Date()
        let r = try t.get("/v1/hosts?limit=&min_revision=999999")
        #expect(r.status == 400)
        #expect(r.error["parameter"] as? String == "limit", "\(r.text)")
        #expect(Date().timeIntervalSince(started) < 2, "answered without waiting for the revision")
    }

    @Test func aWriteDoesNotTakeIt() throws {
        let t = try TestAPI()
        let r = try t.post("/v1/reports?min_revision=1", Array(try Report.encoder.encode(Self.reports(1))))
        #expect(r.status == 400)
        #expect(r.error["parameter"] as? String == "min_revision")
        #expect(try t.store.reportCount() == 0)
    }
}
