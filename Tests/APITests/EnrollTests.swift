import API
import Foundation
import RegistryClient
import Report
import Server
import Store
import StoreSQLite
import Synchronization
import Testing
import TestSupport

/// POST /v1/enroll on a running server: a code is traded once for a collector credential bound to its
/// host; every other attempt is refused without saying why to the caller, and counted for operators.
@Suite("Enrollment: POST /v1/enroll")
struct EnrollTests {
    static func body(_ code: String, host: String = "web-1", machineId: String? = nil) -> [UInt8] {
        var object: [String: Any] = ["code": code, "hostname": host]
        if let machineId { object["machine_id"] = machineId }
        return [UInt8](try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    static func enrollments(_ t: TestAPI, _ outcome: String) throws -> Int? {
        let prefix = "capreg_enrollments_total{outcome=\"\(outcome)\"} "
        return try t.get("/metrics").text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) }
    }

    @Test func aCodeWorksOnceAndItsCredentialWritesItsHostOnly() throws {
        let t = try TestAPI()
        let code = try t.store.issueEnrollmentCode(binding: HostBinding(hostname: "web-1", machineId: nil))
        let first = try t.post("/v1/enroll", Self.body(code.text), token: nil)
        #expect(first.status == 201, "\(first.text)")
        let secret = try #require(first.json["secret"] as? String)
        let id = try #require(first.json["id"] as? String)
        #expect(first.json["role"] as? String == "collector" && first.json["hostname"] as? String == "web-1")
        #expect(first.json["machine_id"] is NSNull && first.json["expires_at"] is String)
        #expect(CredentialToken.id(in: secret) == id)

        let second = try t.post("/v1/enroll", Self.body(code.text), token: nil)
        #expect(second.status == 401 && second.error["code"] as? String == "invalid_enrollment_code", "\(second.text)")
        #expect(try t.store.credentials().map(\.id) == [id], "one credential for one code")

        let own = try t.push([try CredentialAuthTests.report(host: "web-1", id: "own")], token: secret)
        #expect(own.status == 200, "\(own.text)")
        let other = try t.push([try CredentialAuthTests.report(host: "db-7", id: "other")], token: secret)
        #expect(other.status == 403 && other.error["code"] as? String == "host_mismatch")

        #expect(try t.store.credentialEvents().map(\.kind) == ["issue", "enroll"])
        #expect(try Self.enrollments(t, "enrolled") == 1 && Self.enrollments(t, "used_code") == 1 && Self.enrollments(t, "unknown_code") == 0)
    }

    /// Redemptions racing on their own connections: exactly one wins, and one credential exists.
    @Test func racingRedemptionsIssueOneCredential() throws {
        let t = try TestAPI()
        let code = try t.store.issueEnrollmentCode(binding: HostBinding(hostname: "web-1", machineId: nil))
        let statuses = Mutex<[Int]>([])
        let port = t.server.port, body = Self.body(code.text)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let client = APIClient(host: "127.0.0.1", port: port, token: nil)
            let status = (try? client.request("POST", "/v1/enroll", body: body, headers: [("Content-Type", "application/json")]).status) ?? -1
            statuses.withLock { $0.append(status) }
        }
        #expect(statuses.withLock { $0.sorted() } == [201] + Array(repeating: 401, count: 7))
        #expect(try t.store.credentials().count == 1)
        #expect(try t.store.credentialEvents().map(\.kind) == ["issue", "enroll"])
    }

    @Test func usedExpiredRevokedAndUnknownCodesLookTheSame() throws {
        let t = try TestAPI()
        let web1 = HostBinding(hostname: "web-1", machineId: nil)
        let used = try t.store.issueEnrollmentCode(binding: web1)
        #expect(try t.post("/v1/enroll", Self.body(used.text), token: nil).status == 201)
        let expired = try t.store.issueEnrollmentCode(binding: web1, expiresIn: 60, at: Date().addingTimeInterval(-61))
        let revoked = try t.store.issueEnrollmentCode(binding: web1)
        _ = try t.store.revokeEnrollmentCode(id: revoked.code.id)
        let unknown = "capreg_enroll_0123456789abcdef_" + String(repeating: "0", count: 64)
        var answers: Set<String> = []
        for text in [used.text, expired.text, revoked.text, unknown, "not a code"] {
            let response = try t.post("/v1/enroll", Self.body(text), token: nil)
            #expect(response.status == 401, "\(response.text)")
            #expect(response.header("WWW-Authenticate") != nil)
            answers.insert(response.text)
        }
        #expect(answers.count == 1, "one answer for every invalid code: \(answers)")
        for outcome in ["used_code", "expired_code", "revoked_code"] { #expect(try Self.enrollments(t, outcome) == 1, "\(outcome)") }
        #expect(try Self.enrollments(t, "unknown_code") == 2)
        #expect(try t.store.credentials().count == 1)
    }

    @Test func anotherHostIsRefusedWithoutUsingTheCode() throws {
        let t = try TestAPI()
        let code = try t.store.issueEnrollmentCode(binding: HostBinding(hostname: "web-1", machineId: "0123abcd"))
        let wrong = try t.post("/v1/enroll", Self.body(code.text, host: "web-2", machineId: "0123abcd"), token: nil)
        #expect(wrong.status == 403 && wrong.error["code"] as? String == "host_mismatch", "\(wrong.text)")
        #expect(!(wrong.text.contains("web-1") || wrong.text.contains("0123abcd")), "the refusal does not tell which host the code is for")
        let right = try t.post("/v1/enroll", Self.body(code.text, host: "web-1", machineId: "0123abcd"), token: nil)
        #expect(right.status == 201, "\(right.text)")
        #expect(right.json["machine_id"] as? String == "0123abcd")
        #expect(try Self.enrollments(t, "host_mismatch") == 1 && Self.enrollments(t, "enrolled") == 1)
    }

    @Test func badBodiesAre400NamingTheField() throws {
        let t = try TestAPI()
        let code = try t.store.issueEnrollmentCode(binding: HostBinding(hostname: "web-1", machineId: nil))
        let cases: [(body: String, field: String?)] = [
            ("not json", nil),
            ("[1]", nil),
            (#"{"hostname": "web-1"}"#, "code"),
            (#"{"code": 7, "hostname": "web-1"}"#, "code"),
            (#"{"code": "\#(code.text)"}"#, "hostname"),
            (#"{"code": "\#(code.text)", "hostname": "localhost"}"#, "hostname"),
            (#"{"code": "\#(code.text)", "hostname": "web-1", "machine_id": 5}"#, "machine_id"),
            (#"{"code": "\#(code.text)", "hostname": "web-1", "role": "admin"}"#, "role"),
        ]
        for (body, field) in cases {
            let response = try t.post("/v1/enroll", Array(body.utf8), token: nil)
            #expect(response.status == 400 && response.error["code"] as? String == "invalid_enrollment_request", "\(body): \(response.text)")
            #expect(response.error["field"] as? String == field, "\(body): \(response.text)")
        }
        #expect(try t.post("/v1/enroll?x=1", Self.body(code.text), token: nil).status == 400)
        #expect(try t.store.enrollmentCode(id: code.code.id)?.state(at: Date()) == "unused", "no refusal used the code")
        #expect(try Self.enrollments(t, "bad_request") == cases.count + 1)
    }

    @Test func aLargeBodyIsRefusedOnItsHead() throws {
        let t = try TestAPI()
        let c = try RawClient(port: t.server.port)
        _ = c.send("POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4097\r\n\r\n")
        let response = try c.readResponse()
        #expect(response.status == 413, "\(response.text)")
        #expect(response.errorObject?["code"] as? String == "content_too_large")
        // 4096 bytes are read: padded with spaces, which JSON allows, the code still works.
        let code = try t.store.issueEnrollmentCode(binding: HostBinding(hostname: "web-1", machineId: nil))
        var body = Self.body(code.text)
        body += [UInt8](repeating: 0x20, count: 4096 - body.count)
        #expect(try t.post("/v1/enroll", body, token: nil).status == 201)
    }

    /// A registry holding only an enrollment code is not open: reads need a token, enrolling does not,
    /// and a token sent along (right or wrong) changes nothing.
    @Test func codesAloneTurnAuthOn() throws {
        var text = ""
        let t = try TestAPI(tokens: false, beforeStart: { store in
            text = try store.issueEnrollmentCode(binding: HostBinding(hostname: "web-1", machineId: nil)).text
        })
        #expect(try t.get("/v1/hosts", token: nil).status == 401)
        let enrolled = try t.post("/v1/enroll", Self.body(text), token: "not-a-token-at-all-0123456789")
        #expect(enrolled.status == 201, "\(enrolled.text)")
        let secret = try #require(enrolled.json["secret"] as? String)
        #expect(try t.push([try CredentialAuthTests.report(host: "web-1", id: "a")], token: secret).status == 200)
        #expect(try t.get("/v1/hosts", token: secret).status == 403, "a collector reads nothing")
    }
}
