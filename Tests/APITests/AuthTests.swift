import API
import Foundation
import Report
import Store
import StoreSQLite
import Testing
import RegistryClient
@testable import Synthetic

@Suite("Auth: tokens, roles, listen policy")
struct AuthTests {
    @Test("no token or a bad one: 401 with WWW-Authenticate; wrong role: 403; admin: everything")
    func matrix() throws {
        let t = try TestAPI()
        let report = try #require(SyntheticFleet(hosts: 1, days: 1).report(host: 0, day: 0))
        let body = Array(try Report.encoder.encode(report))
        func status(_ method: String, _ target: String, _ token: String?) throws -> APIClient.Response {
            try t.client(token).request(method, target, body: method == "POST" ? body : [])
        }
        for token in [nil, "not-a-valid-token-at-all"] {
            for (method, target) in [("GET", "/v1/hosts"), ("POST", "/v1/reports"), ("GET", "/metrics")] {
                let response = try status(method, target, token)
                #expect(response.status == 401, "\(method) \(target) token \(token ?? "none")")
                #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
                #expect(response.error["code"] as? String == "unauthorized")
            }
        }
        #expect(try status("POST", "/v1/reports", TestAPI.readerToken).status == 403)
        #expect(try status("POST", "/v1/reports", TestAPI.readerToken).error["code"] as? String == "forbidden")
        #expect(try status("GET", "/v1/hosts", TestAPI.collectorToken).status == 403)
        #expect(try status("GET", "/metrics", TestAPI.collectorToken).status == 403)
        #expect(try status("POST", "/v1/reports", TestAPI.collectorToken).status == 200)
        #expect(try status("GET", "/v1/hosts", TestAPI.readerToken).status == 200)
        #expect(try status("GET", "/metrics", TestAPI.readerToken).status == 200)
        #expect(try status("GET", "/v1/stats", TestAPI.adminToken).status == 200)
        #expect(try status("POST", "/v1/reports", TestAPI.adminToken).status == 200)
        // Probes need no token.
        #expect(try status("GET", "/healthz", nil).status == 200)
        #expect(try status("GET", "/readyz", nil).status == 200)
        // Basic, or a scheme without a token, is not a bearer token.
        let basic = try t.client(nil).request("GET", "/v1/hosts", headers: [("Authorization", "Basic YTpi")])
        #expect(basic.status == 401)
    }

    @Test("without tokens auth is off")
    func authOff() throws {
        let t = try TestAPI(tokens: false)
        #expect(try t.get("/v1/hosts", token: nil).status == 200)
        #expect(try t.get("/metrics", token: nil).status == 200)
    }

    @Test("tokens file: roles, comments, commas; refuses unknown roles and short tokens")
    func parse() throws {
        let table = try TokenTable.parse("""
            # operators
            admin   aaaaaaaaaaaaaaaaaaaa   # trailing comment
            reader:rrrrrrrrrrrrrrrrrrrr, collector cccccccccccccccccccc

            """, source: "tokens")
        #expect(table.count == 3)
        #expect(table.role(of: "aaaaaaaaaaaaaaaaaaaa") == .admin)
        #expect(table.role(of: "rrrrrrrrrrrrrrrrrrrr") == .reader)
        #expect(table.role(of: "cccccccccccccccccccc") == .collector)
        #expect(table.role(of: "aaaaaaaaaaaaaaaaaaab") == nil)
        #expect(table.role(of: "") == nil)
        #expect(throws: TokenError.self) { try TokenTable.parse("root aaaaaaaaaaaaaaaaaaaa", source: "t") }
        #expect(throws: TokenError.self) { try TokenTable.parse("reader short", source: "t") }
        #expect(throws: TokenError.self) { try TokenTable.parse("reader", source: "t") }
    }

    @Test("a token listed twice, under the same role or another, is refused naming the source and both lines")
    func duplicateToken() throws {
        let twoRoles = #expect(throws: TokenError.self) {
            try TokenTable.parse("reader rrrrrrrrrrrrrrrrrrrr\n# admins\nadmin aaaaaaaaaaaaaaaaaaaa\nadmin rrrrrrrrrrrrrrrrrrrr\n", source: "tokens.txt")
        }
        #expect(twoRoles?.description == "tokens.txt:4: this token is already listed at line 1 of tokens.txt (as reader); list each token once, under one role")
        let sameRole = #expect(throws: TokenError.self) {
            try TokenTable.parse("collector cccccccccccccccccccc, collector:cccccccccccccccccccc", source: "CAPREG_TOKENS")
        }
        #expect(sameRole?.description.hasPrefix("CAPREG_TOKENS:1: this token is already listed at line 1 of CAPREG_TOKENS") == true)
    }

    @Test("listening beyond loopback without tokens is refused unless --insecure")
    func listenPolicy() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"] {
            #expect(ListenPolicy.isLoopback(host), "\(host)")
            #expect(ListenPolicy.refusal(host: host, hasTokens: false, insecure: false) == nil)
        }
        for host in ["0.0.0.0", "::", "10.0.0.5", "192.168.1.1", "example.com", "128.0.0.1", "127.0.0.1.evil"] {
            #expect(!ListenPolicy.isLoopback(host), "\(host)")
            #expect(ListenPolicy.refusal(host: host, hasTokens: false, insecure: false)?.contains("--insecure") == true)
            #expect(ListenPolicy.refusal(host: host, hasTokens: true, insecure: false) == nil)
            #expect(ListenPolicy.refusal(host: host, hasTokens: false, insecure: true) == nil)
        }
    }
}
