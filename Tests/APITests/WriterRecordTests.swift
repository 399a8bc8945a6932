import API
import Foundation
import Report
import Store
import StoreSQLite
import Testing
@testable import Synthetic

/// Who wrote what, through a running server: a stored report records the caller's identity and the peer
/// address, history and the change feed carry both, and a host_mismatch refusal is recorded (boundedly).
@Suite("API: who wrote what")
struct WriterRecordTests {
    static func metric(_ t: TestAPI, _ name: String) throws -> String? {
        try t.get("/metrics").text.split(separator: "\n").first { $0.hasPrefix(name) }.map(String.init)
    }

    /// Host web-1's report `id` with the facts of synthetic host `fleetHost` (hosts 0 and 1 differ).
    static func report(_ id: String, from fleetHost: Int, at: Date) throws -> Report {
        var report = try #require(SyntheticFleet(hosts: fleetHost + 1, days: 1).report(host: fleetHost, day: 0))
        report.reportId = id
        report.host.hostname = "web-1"
        report.host.machineId = nil
        report.collectedAt = at
        return report
    }

    @Test func aBoundCredentialsWriteIsRecordedWithItsPeer() throws {
        let t = try TestAPI()
        let issued = try t.store.issueCredential(role: .collector, binding: HostBinding(hostname: "web-1", machineId: nil), expiresIn: 3600)
        #expect(try t.push([try Self.report("a", from: 0, at: Date().addingTimeInterval(-7200))], token: issued.secret).status == 200)
        // A --tokens file token is named by its digest's first 12 hex digits.
        #expect(try t.push([try Self.report("b", from: 1, at: Date().addingTimeInterval(-3600))], token: TestAPI.collectorToken).status == 200)

        let history = try t.get("/v1/hosts/web-1/history").json
        let versions = try #require(history["versions"] as? [[String: Any]])
        let cred = "cred:" + issued.credential.id
        let token = "token:" + CredentialToken.digest(TestAPI.collectorToken).prefix(12)
        #expect(versions.map { $0["report_id"] as? String } == ["a", "b"], "\(versions)")
        #expect(versions.map { $0["written_by"] as? String } == [cred, token])
        #expect(versions.map { $0["peer"] as? String } == ["127.0.0.1", "127.0.0.1"])

        let since = q("1970-01-01T00:00:00Z")
        let changes = try t.get("/v1/changes?since=\(since)").json
        let host = try #require((changes["hosts"] as? [[String: Any]])?.first)
        #expect(host["report_id"] as? String == "b" && host["written_by"] as? String == token && host["peer"] as? String == "127.0.0.1", "\(host)")
    }

    @Test func aHostMismatchIsRecordedAtMostNAMinute() throws {
        let t = try TestAPI()
        let issued = try t.store.issueCredential(role: .collector, binding: HostBinding(hostname: "web-1", machineId: nil), expiresIn: 3600)
        let n = Registry.maxRefusalsPerMinute, k = 3
        for i in 0..<(n + k) {
            let batch = [try CredentialAuthTests.report(host: "web-1", id: "ok-\(i)"), try CredentialAuthTests.report(host: "db-7", machineId: "m-7", id: "bad-\(i)")]
            let response = try t.push(batch, token: issued.secret)
            #expect(response.status == 403 && response.error["code"] as? String == "host_mismatch")
        }
        let audit = try #require(try t.store.audit(hostname: "db-7", since: nil, limit: 100))
        #expect(audit.events.count == n, "at most \(n) a minute per identity")
        guard case .refusal(let first)? = audit.events.first else { Issue.record("\(audit.events)"); return }
        #expect(first.writer.identity == "cred:" + issued.credential.id && first.writer.peer == "127.0.0.1")
        #expect(first.reportId == "bad-0" && first.hostname == "db-7" && first.machineId == "m-7" && first.reason == "host_mismatch")
        #expect(first.detail.contains("\"web-1\"") && first.detail.contains("\"db-7\""))
        // The metrics count every refused report, and the refusals left out of the record.
        #expect(try Self.metric(t, "capreg_reports_refused_total{reason=\"host_mismatch\"}") == "capreg_reports_refused_total{reason=\"host_mismatch\"} \(2 * (n + k))")
        #expect(try Self.metric(t, "capreg_write_refusals_unrecorded_total{reason=\"rate_bound\"}")
                == "capreg_write_refusals_unrecorded_total{reason=\"rate_bound\"} \(k)")
        // Nothing of the refused batches was stored. web-1's audit has its credential's issue and the writes
        // that credential attempted for db-7 (the trace a compromised host leaves).
        #expect(try t.store.hosts().isEmpty)
        let own = try #require(try t.store.audit(hostname: "web-1", since: nil, limit: 100))
        let kinds = own.events.map { event -> String in
            switch event {
            case .credential(let e): return e.kind
            case .refusal(let r): return "refused \(r.hostname)"
            default: return "other"
            }
        }
        #expect(kinds == ["issue"] + Array(repeating: "refused db-7", count: n), "\(kinds)")
    }
}
