import API
import Foundation
import Report
import Server
import Store
import StoreSQLite
import Testing
@testable import Synthetic
import TestRegistry

/// Registry credentials (`capreg token`) on a running server: checked per request beside the --tokens
/// file, a collector's bound to its host.
@Suite("Auth: registry credentials")
struct CredentialAuthTests {
    static func report(host: String, machineId: String? = nil, id: String) throws -> Report {
        var report = try #require(SyntheticFleet(hosts: 1, days: 1).report(host: 0, day: 0))
        report.reportId = id
        report.host.hostname = host
        report.host.machineId = machineId
        return report
    }

    static func refused(_ t: TestAPI) throws -> String? {
        try t.get("/metrics").text.split(separator: "\n").first { $0.hasPrefix("capreg_reports_refused_total{reason=\"host_mismatch\"}") }
            .map(String.init)
    }

    @Test func aBoundCollectorWritesItsHostOnly() throws {
        let t = try TestAPI()
        let issued = try t.store.issueCredential(role: .collector, binding: HostBinding(hostname: "web-1", machineId: nil), expiresIn: 3600)
        let own = try t.push([try Self.report(host: "web-1", id: "a")], token: issued.secret)
        #expect(own.status == 200, "\(own.text)")

        // One report for another host in the batch refuses the whole batch.
        let other = try t.push([try Self.report(host: "web-1", id: "b"), try Self.report(host: "db-7", id: "c")], token: issued.secret)
        #expect(other.status == 403)
        #expect(other.error["code"] as? String == "host_mismatch")
        let message = other.error["message"] as? String ?? ""
        #expect(message.contains("\"web-1\"") && message.contains("\"db-7\"") && message.contains("nothing was stored"), "\(message)")
        #expect(other.error["report_index"] as? Int == 1 && other.error["hostname"] as? String == "db-7")
        #expect(try t.store.hosts().map(\.hostname) == ["web-1"])
        #expect(try Self.refused(t) == "capreg_reports_refused_total{reason=\"host_mismatch\"} 2")

        // A collector credential reads nothing; the file's collector token (bootstrap, unbound) writes any host.
        #expect(try t.get("/v1/hosts", token: issued.secret).status == 403)
        let bootstrap = try t.push([try Self.report(host: "web-1", id: "b"), try Self.report(host: "db-7", id: "c")], token: TestAPI.collectorToken)
        #expect(bootstrap.status == 200)
        let duplicates = (bootstrap.json["results"] as? [[String: Any]] ?? []).map { $0["duplicate"] as? Bool }
        #expect(duplicates == [false, false], "nothing of the refused batch was stored")
    }

    @Test func aMachineIdBindingNeedsTheMachineId() throws {
        let t = try TestAPI()
        let issued = try t.store.issueCredential(role: .collector, binding: HostBinding(hostname: "web-1", machineId: "0123abcd"), expiresIn: 3600)
        #expect(try t.push([try Self.report(host: "web-1", machineId: "0123abcd", id: "a")], token: issued.secret).status == 200)
        let wrong = try t.push([try Self.report(host: "web-1", machineId: "ffff0000", id: "b")], token: issued.secret)
        #expect(wrong.status == 403 && wrong.error["code"] as? String == "host_mismatch")
        #expect((wrong.error["message"] as? String)?.contains("machine-id 0123abcd") == true)
        #expect(try t.push([try Self.report(host: "web-1", id: "c")], token: issued.secret).status == 403)
    }

    @Test func revocationCountsFromTheNextRequest() throws {
        let t = try TestAPI()
        let issued = try t.store.issueCredential(role: .reader, binding: nil, expiresIn: 3600)
        #expect(try t.get("/v1/hosts", token: issued.secret).status == 200)
        // Revoked by another connection to the database, as `capreg token revoke` does beside a running server.
        let other = try TestRegistry.open(t.dir.path("r.sqlite"))
        _ = try other.revokeCredential(id: issued.credential.id)
        let revokedAt = Date()
        var status = 200
        while status == 200 && Date().timeIntervalSince(revokedAt) < 1 { status = try t.get("/v1/hosts", token: issued.secret).status }
        #expect(status == 401, "refused within a second")
        #expect(Date().timeIntervalSince(revokedAt) < 1)
    }

    @Test func expiredAndUnknownCredentialsAre401() throws {
        let t = try TestAPI()
        let expired = try t.store.issueCredential(role: .admin, binding: nil, expiresIn: 60, at: Date().addingTimeInterval(-120))
        let response = try t.get("/v1/hosts", token: expired.secret)
        #expect(response.status == 401 && response.error["code"] as? String == "unauthorized")
        let made = "capreg_" + expired.credential.id + "_" + String(repeating: "0", count: 64)
        #expect(try t.get("/v1/hosts", token: made).status == 401)
    }

    @Test func rotationKeepsBothValidForTheOverlap() throws {
        let t = try TestAPI()
        let old = try t.store.issueCredential(role: .reader, binding: nil, expiresIn: 3600)
        let (_, new) = try t.store.rotateCredential(id: old.credential.id, overlap: 1, expiresIn: 3600)
        #expect(try t.get("/v1/hosts", token: old.secret).status == 200)
        #expect(try t.get("/v1/hosts", token: new.secret).status == 200)
        Thread.sleep(forTimeInterval: 1.05)
        #expect(try t.get("/v1/hosts", token: old.secret).status == 401)
        #expect(try t.get("/v1/hosts", token: new.secret).status == 200)
    }

    @Test func credentialsAloneTurnAuthOnAndNameTheIdentity() throws {
        var secret = ""
        let t = try TestAPI(tokens: false, beforeStart: { store in
            secret = try store.issueCredential(role: .admin, binding: nil, expiresIn: 3600).secret
        })
        #expect(try t.get("/v1/hosts", token: nil).status == 401)
        #expect(try t.get("/v1/hosts", token: secret).status == 200)
        let id = try #require(CredentialToken.id(in: secret))
        let head = HTTPRequest(method: "GET", target: "/v1/hosts", path: "/v1/hosts", pathSegments: ["v1", "hosts"], rawQuery: nil, query: [],
                               version: .http11, headers: HTTPHeaders([("Host", "x"), ("Authorization", "Bearer \(secret)")]), body: [],
                               remoteAddress: "127.0.0.1:4711", keepAlive: true)
        #expect(t.api.admit(head) == .admit(identity: "cred:" + id))
    }
}
