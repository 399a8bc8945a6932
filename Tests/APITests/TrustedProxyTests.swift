@testable import API
import Foundation
import RegistryClient
import Report
import Store
import StoreSQLite
import Testing

/// `serve --trusted-proxy`: what nginx says of a request (the client's address, its verified client
/// certificate) counts from the trusted address only; from anyone else the same header fields are ignored.
@Suite("Auth: trusted proxy and client certificates")
struct TrustedProxyTests {
    static func certificate(_ subject: String, verify: String = "SUCCESS", from address: String = "10.1.2.3") -> [(String, String)] {
        [("X-Client-Verify", verify), ("X-Client-Subject", subject), ("X-Real-IP", address)]
    }

    static func writers(_ t: TestAPI, _ host: String) throws -> [String] {
        let versions = try t.get("/v1/hosts/\(host)/history").json["versions"] as? [[String: Any]] ?? []
        return versions.map { "\($0["written_by"] as? String ?? "-") \($0["peer"] as? String ?? "-")" }
    }

    @Test func aVerifiedCertificateIsACollectorBoundToItsCN() throws {
        let t = try TestAPI(trustedProxy: TrustedProxy(addresses: ["127.0.0.1"]))
        let own = try t.push([try CredentialAuthTests.report(host: "web-1", id: "a")], token: nil,
                             headers: Self.certificate("CN=web-1,O=fleet"))
        #expect(own.status == 200, "\(own.text)")
        #expect(try Self.writers(t, "web-1") == ["cert:web-1 10.1.2.3"])

        let other = try t.push([try CredentialAuthTests.report(host: "db-7", id: "b")], token: nil,
                               headers: Self.certificate("O=fleet, CN=web-1"))
        #expect(other.status == 403 && other.error["code"] as? String == "host_mismatch", "\(other.text)")
        #expect(try t.store.hosts().map(\.hostname) == ["web-1"])

        // A certificate is a collector: it reads nothing. A token beside it is what counts.
        let read = try t.client(nil).request("GET", "/v1/hosts", headers: Self.certificate("CN=web-1"))
        #expect(read.status == 403, "\(read.text)")
        #expect(try t.client(TestAPI.readerToken).request("GET", "/v1/hosts", headers: Self.certificate("CN=web-1")).status == 200)
    }

    @Test func unverifiedOrUnusableSubjectsAreRefused() throws {
        let t = try TestAPI(trustedProxy: TrustedProxy(addresses: ["127.0.0.1"]))
        let report = [try CredentialAuthTests.report(host: "web-1", id: "a")]
        for (headers, status) in [(Self.certificate("CN=web-1", verify: "FAILED:certificate has expired"), 401),
                                  (Self.certificate("O=fleet"), 401),
                                  (Self.certificate("CN=web-1,CN=db-7"), 401),
                                  (Self.certificate("CN=web\\,1"), 401),
                                  (Self.certificate("CN=localhost"), 403),
                                  ([("X-Client-Subject", "CN=web-1")], 401),
                                  ([("X-Client-Verify", "SUCCESS"), ("X-Client-Verify", "SUCCESS"), ("X-Client-Subject", "CN=web-1")], 401)] {
            let answer = try t.push(report, token: nil, headers: headers)
            #expect(answer.status == status, "\(headers): \(answer.text)")
        }
        // NONE (no certificate, nginx's optional verification): the bearer token decides.
        let none = try t.push(report, token: TestAPI.collectorToken, headers: Self.certificate("", verify: "NONE"))
        #expect(none.status == 200, "\(none.text)")
        #expect(try t.store.hosts().map(\.hostname) == ["web-1"])
    }

    @Test func fromAnyOtherAddressTheFieldsAreIgnored() throws {
        let t = try TestAPI(trustedProxy: TrustedProxy(addresses: ["10.9.9.9"]))
        let forged = try t.push([try CredentialAuthTests.report(host: "web-1", id: "a")], token: nil, headers: Self.certificate("CN=web-1"))
        #expect(forged.status == 401, "\(forged.text)")
        let withToken = try t.push([try CredentialAuthTests.report(host: "web-1", id: "b")], token: TestAPI.collectorToken,
                                   headers: Self.certificate("CN=web-1", from: "10.1.2.3"))
        #expect(withToken.status == 200)
        let writers = try Self.writers(t, "web-1")
        #expect(writers.count == 1 && writers[0].hasPrefix("token:") && writers[0].hasSuffix(" 127.0.0.1"), "\(writers)")
    }

    @Test func aTrustedProxyAloneTurnsAuthOn() throws {
        let t = try TestAPI(tokens: false, trustedProxy: TrustedProxy(addresses: ["127.0.0.1"]))
        #expect(try t.get("/v1/hosts", token: nil).status == 401)
        #expect(try t.get("/healthz", token: nil).status == 200)
    }

    @Test(arguments: [("CN=host-1,O=fleet", "host-1"), ("O=fleet, CN=h", "h"), ("cn=lower", "lower")])
    func commonNames(dn: String, cn: String) {
        #expect(TrustedProxy.commonName(dn) == cn)
    }

    @Test(arguments: ["O=fleet", "CN=a\\,b", "CN=a+UID=b", "CN=a,CN=b", "CN=", ""])
    func noCommonName(dn: String) {
        #expect(TrustedProxy.commonName(dn) == nil)
    }

    @Test func addresses() {
        #expect(TrustedProxy.isAddress("127.0.0.1") && TrustedProxy.isAddress("::1") && TrustedProxy.isAddress("10.0.0.254"))
        #expect(!TrustedProxy.isAddress("nginx.local") && !TrustedProxy.isAddress("10.0.0.0/8") && !TrustedProxy.isAddress(""))
    }
}
