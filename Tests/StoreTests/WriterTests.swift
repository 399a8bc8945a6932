import Foundation
import GRDB
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
import TestRegistry

/// Who wrote what (migrations/0010): each report's writer, the append-only record of refused writes and
/// its per-identity bound, and a host's audit as one timeline.
@Suite struct WriterTests {
    static let collector = try! Writer(identity: "cred:0123456789abcdef", peer: "127.0.0.1")

    static func refusal(_ at: Date, identity: String = "cred:fedcba9876543210", host: String = "h1", machineId: String? = nil,
                        reportId: String = "bad-1") throws -> WriteRefusal {
        WriteRefusal(at: at, writer: try Writer(identity: identity, peer: "10.0.0.9"), hostname: host, machineId: machineId,
                     reportId: reportId, reason: "host_mismatch", detail: "this credential may write host \"h2\"; the report is for host \"\(host)\"")
    }

    @Test func eachReportRecordsItsWriter() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("a", at: 0)], writer: Self.collector)
        _ = try store.ingest([Fixture.report("b", at: 1, pgsizes: 0x1000)], writer: try Writer.cli("ingest", user: "root", uid: 0))
        _ = try store.ingest([Fixture.report("c", at: 2, pgsizes: 0x4020_1000)])
        // A duplicate keeps its first writer: nothing is written.
        _ = try store.ingest([Fixture.report("a", at: 0)], writer: try Writer(identity: "token:abcdefabcdef", peer: "10.1.1.1"))
        let rows = try store.database.read { db in
            try db.rows("SELECT report_id, written_by, peer FROM reports ORDER BY id").map { "\($0[0] as String) \($0[1] as String? ?? "nil") \($0[2] as String? ?? "nil")" }
        }
        #expect(rows == ["a cred:0123456789abcdef 127.0.0.1", "b cli:ingest:root nil", "c nil nil"])

        let versions = try store.history(hostname: "h1")
        #expect(versions.map(\.source) == [ReportSource(reportId: "a", writtenBy: "cred:0123456789abcdef", peer: "127.0.0.1"),
                                           ReportSource(reportId: "b", writtenBy: "cli:ingest:root", peer: nil),
                                           ReportSource(reportId: "c", writtenBy: nil, peer: nil)])
        let page = try store.changePage(from: Fixture.time(0.5), to: Fixture.time(1.5), after: nil, limit: 10, scanBudget: 10)
        #expect(page.hosts.map(\.source) == [ReportSource(reportId: "b", writtenBy: "cli:ingest:root", peer: nil)])
    }

    @Test func writerTextIsBoundedAndNamesTheField() throws {
        #expect(throws: WriterError(field: "written_by", problem: "81 characters; at most 80")) {
            try Writer(identity: String(repeating: "x", count: 81), peer: nil)
        }
        #expect(throws: WriterError(field: "peer", problem: "65 characters; at most 64")) {
            try Writer(identity: "ip:1", peer: String(repeating: "1", count: 65))
        }
        #expect(throws: WriterError.self) { try Writer(identity: "cred:a\nb", peer: nil) }
        #expect(throws: WriterError(field: "peer", problem: "empty")) { try Writer(identity: nil, peer: "") }
        // The CLI's user part is cut to fit, or replaced by the uid when it could not be shown as it is.
        #expect(try Writer.cli("ingest", user: String(repeating: "u", count: 100), uid: 1000).identity?.count == Writer.maxIdentity)
        #expect(try Writer.cli("ingest", user: "a\u{7}b", uid: 1000).identity == "cli:ingest:uid1000")
        #expect(try Writer.cli("ingest", user: "", uid: 7).identity == "cli:ingest:uid7")
        // The schema holds the same bounds, for a writer that skipped the type.
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        _ = try store.ingest([Fixture.report("a", at: 0)])
        #expect(try backendRefusal {
            try store.database.write { db in try db.execute("UPDATE reports SET written_by = ?", [String(repeating: "x", count: 81)]) }
        } != nil)
    }

    @Test func refusalsAreAppendOnly() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        #expect(try store.recordRefusal(try Self.refusal(Fixture.time(0))))
        for sql in ["UPDATE write_refusals SET hostname = 'other'", "DELETE FROM write_refusals"] {
            let refusal = try backendRefusal { try store.database.write { db in try db.execute(sql) } }
            #expect(refusal?.hasSuffix("write_refusals is append-only") == true, "\(sql): \(refusal ?? "not refused")")
        }
        #expect(try store.count("SELECT count(*) FROM write_refusals WHERE hostname = 'h1'") == 1)
    }

    /// Whatever a refused report claimed, the refusal is recorded: a machine-id the decoder lets through
    /// (only NUL is refused there) with controls, or too long, is kept as it can be shown, and so is the detail.
    @Test func aRefusalIsRecordedWhateverItClaimed() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let long = String(repeating: "m", count: 300)
        let claimed = WriteRefusal(at: Fixture.time(0), writer: Self.collector, hostname: "h1", machineId: "bad\u{1B}[31m\u{0}id",
                                   reportId: "r", reason: "host_mismatch", detail: "the report carries machine-id " + long + String(repeating: "x", count: 800))
        #expect(try store.recordRefusal(claimed))
        #expect(try store.recordRefusal(WriteRefusal(at: Fixture.time(0), writer: Self.collector, hostname: "h1", machineId: long,
                                                     reportId: "r2", reason: "host_mismatch", detail: "")))
        #expect(try store.recordRefusal(WriteRefusal(at: Fixture.time(0), writer: Self.collector, hostname: "h1", machineId: "",
                                                     reportId: "r3", reason: "host_mismatch", detail: "x")))
        let rows = try store.database.read { db in try db.rows("SELECT machine_id, detail FROM write_refusals ORDER BY id") }
        #expect(rows[0]["machine_id"] as String == "bad<U+001B>[31m<U+0000>id")
        #expect((rows[0]["detail"] as String).unicodeScalars.count == WriteRefusal.maxDetail && (rows[0]["detail"] as String).hasSuffix("…"))
        #expect(rows[1]["machine_id"] as String == String(repeating: "m", count: 254) + "…")
        #expect(rows[1]["detail"] as String == "\"\"" && rows[2]["machine_id"] as String == "\"\"")
        #expect(WriteRefusal.recordable("abc", max: 3) == "abc" && WriteRefusal.recordable("abcd", max: 3) == "ab…")
    }

    @Test func refusalsAreBoundedPerIdentityAndMinute() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let n = Registry.maxRefusalsPerMinute, k = 7
        var recorded = 0
        for i in 0..<(n + k) where try store.recordRefusal(try Self.refusal(Fixture.time(0).addingTimeInterval(Double(i)), reportId: "r\(i)")) {
            recorded += 1
        }
        #expect(recorded == n)
        #expect(try store.count("SELECT count(*) FROM write_refusals") == n)
        // Another identity has its own share; the first gets room again once its rows are a minute old.
        #expect(try store.recordRefusal(try Self.refusal(Fixture.time(0), identity: "cred:1111111111111111")))
        #expect(try !store.recordRefusal(try Self.refusal(Fixture.time(0).addingTimeInterval(59.5))))
        #expect(try store.recordRefusal(try Self.refusal(Fixture.time(0).addingTimeInterval(60.5))))
        #expect(try store.count("SELECT count(*) FROM write_refusals") == n + 2)
    }

    /// Writes, a refusal, a retraction and credential events of the host's credentials, recorded out of
    /// time order, come out as one timeline in time order; another host's events stay out.
    @Test func auditMergesOneTimeline() throws {
        let dir = try TempDir()
        let store = try Fixture.store(dir)
        let t = Fixture.time(1000)
        func at(_ minutes: Double) -> Date { t.addingTimeInterval(minutes * 60) }
        let bound = try store.issueCredential(role: .collector, binding: HostBinding(hostname: "h1", machineId: nil), expiresIn: 3600, at: at(0))
        let pattern = try store.issueCredential(role: .collector, binding: HostBinding(hostname: "h*", machineId: nil, isPattern: true),
                                                expiresIn: 3600, at: at(1))
        let byMachine = try store.issueCredential(role: .collector, binding: HostBinding(hostname: nil, machineId: "m-h1"), expiresIn: 3600, at: at(2))
        _ = try store.issueCredential(role: .collector, binding: HostBinding(hostname: "other", machineId: nil), expiresIn: 3600, at: at(3))
        let writer = try Writer(identity: "cred:" + bound.credential.id, peer: "127.0.0.1")
        _ = try store.ingest([Fixture.report("w1", at: 0)], receivedAt: at(10), writer: writer)
        _ = try store.ingest([Fixture.report("w2", at: 1, pgsizes: 0x1000)], receivedAt: at(20), writer: writer)
        _ = try store.ingest([Fixture.report("x1", host: "other", at: 1)], receivedAt: at(21), writer: writer)
        #expect(try store.recordRefusal(try Self.refusal(at(15), host: "h1", reportId: "bad-name")))
        #expect(try store.recordRefusal(try Self.refusal(at(16), host: "impostor", machineId: "m-h1", reportId: "bad-machine")))
        #expect(try store.recordRefusal(try Self.refusal(at(17), host: "other", reportId: "not-h1")))
        // h1's own credential trying another host: listed in h1's audit (what a compromised host does).
        #expect(try store.recordRefusal(try Self.refusal(at(18), identity: "cred:" + bound.credential.id, host: "victim", reportId: "by-h1")))
        _ = try store.retract(reportId: "w2", reason: "clock\nwrong", at: at(30))
        _ = try store.revokeCredential(id: pattern.credential.id, at: at(25))
        // An enrollment code for h1 and its redemption; a code for another host stays out.
        let code = try store.issueEnrollmentCode(binding: HostBinding(hostname: "h1", machineId: nil), at: at(26))
        _ = try store.issueEnrollmentCode(binding: HostBinding(hostname: "other", machineId: nil), at: at(26.5))
        let enrolled = try store.redeemEnrollmentCode(code.text, hostname: "h1", machineId: nil, at: at(27)).get()

        let audit = try #require(try store.audit(hostname: "h1", since: nil, limit: 100))
        #expect(audit.omitted == 0)
        let summary = audit.events.map { event -> String in
            switch event {
            case .write(let w): return "write \(w.reportId) \(w.writtenBy ?? "?") \(w.peer ?? "?")"
            case .refusal(let r): return "refused \(r.reportId)"
            case .retraction(let r): return "retracted \(r.reportId)"
            case .credential(let e): return "\(e.kind) \(e.credential ?? "code:" + (e.enrollmentCode ?? "?"))"
            }
        }
        let cred = "cred:" + bound.credential.id
        #expect(summary == ["issue \(bound.credential.id)", "issue \(pattern.credential.id)", "issue \(byMachine.credential.id)",
                            "write w1 \(cred) 127.0.0.1", "refused bad-name", "refused bad-machine", "refused by-h1", "write w2 \(cred) 127.0.0.1",
                            "revoke \(pattern.credential.id)", "issue code:\(code.code.id)", "enroll \(enrolled.credential.id)",
                            "retracted w2"], "\(summary)")
        #expect(audit.events.map(\.at) == audit.events.map(\.at).sorted())

        // The newest N, oldest first, and how many older ones were left out; --since cuts at a time.
        let newest = try #require(try store.audit(hostname: "h1", since: nil, limit: 2))
        #expect(newest.events.map(\.at) == [at(27), at(30)] && newest.omitted == 10)
        let since = try #require(try store.audit(hostname: "h1", since: at(16), limit: 100))
        #expect(since.events.count == 7 && since.omitted == 0)

        // A name only a refusal claimed is known; a name nothing mentions is not.
        #expect(try store.audit(hostname: "impostor", since: nil, limit: 10)?.events.count == 1)
        #expect(try store.audit(hostname: "nobody", since: nil, limit: 10) == nil)
    }
}
