import API
import Foundation
import Query
import Report
import Store
import StoreSQLite
import Testing
import RegistryClient
@testable import Synthetic

/// Issue 7 on GET /v1/hosts: revision stamps and as_of_revision, freshness that fails closed, explain,
/// and profile() in a real query, over real loopback sockets.
@Suite("GET /v1/hosts: revisions, freshness, explain, profiles")
struct HostsAnswerTests {
    func hosts(_ r: APIClient.Response, _ list: String? = nil) -> [[String: Any]] {
        let container = list.map { r.json[$0] as? [String: Any] ?? [:] } ?? r.json
        return container["hosts"] as? [[String: Any]] ?? []
    }

    func names(_ r: APIClient.Response, _ list: String? = nil) -> [String] { hosts(r, list).compactMap { $0["hostname"] as? String } }

    func reports(_ fleet: SyntheticFleet, days: Range<Int>) -> [Report] {
        var out: [Report] = []
        for day in days { for host in 0..<fleet.hosts { if let r = fleet.report(host: host, day: day) { out.append(r) } } }
        return out
    }

    @Test("every answer carries its revision; as_of_revision gives back that answer after later writes")
    func revisions() throws {
        let t = try TestAPI()
        let fleet = SyntheticFleet(hosts: 30, days: 8, seed: 3)
        let early = reports(fleet, days: 0..<3)
        let pushed = try t.push(early)
        #expect(pushed.status == 200)
        let expr = q(#"hw.pasid_bind and kernel >= "6.1""#)
        let then = try t.get("/v1/hosts?where=\(expr)&limit=1000")
        let revision = try #require(then.json["revision"] as? Int)
        let results = (pushed.json["results"] as? [[String: Any]]) ?? []
        #expect(revision == results.compactMap { $0["revision"] as? Int }.max(), "the revision of the last stored report")

        #expect(try t.push(reports(fleet, days: 3..<8)).status == 200)
        let now = try t.get("/v1/hosts?where=\(expr)&limit=1000")
        #expect(now.json["revision"] as? Int ?? 0 > revision)
        #expect(names(now) != names(then), "the fleet changed (kernel upgrades, new hosts), or this test proves nothing")

        let again = try t.get("/v1/hosts?where=\(expr)&limit=1000&as_of_revision=\(revision)")
        #expect(again.status == 200, "\(again.text.prefix(300))")
        #expect(again.json["revision"] as? Int == revision)
        #expect(again.json["as_of_revision"] as? Int == revision)
        #expect(names(again) == names(then))
        for (a, b) in zip(hosts(again), hosts(then)) {
            #expect(a["kernel"] as? String == b["kernel"] as? String)
            // Heartbeats make no revision: at a revision a host was last seen at its newest report row then,
            // never after what the answer of that revision said.
            #expect((a["reported_at"] as? String ?? "~") <= (b["reported_at"] as? String ?? ""))
            #expect(NSDictionary(dictionary: a["facts"] as? [String: Any] ?? [:]) == NSDictionary(dictionary: b["facts"] as? [String: Any] ?? [:]),
                    "\(a["hostname"] ?? "")")
        }
        // A repeated report is not a write: the revision stays.
        #expect(try t.push(Array(early.prefix(5))).status == 200)
        #expect(try t.get("/v1/hosts?limit=1").json["revision"] as? Int == now.json["revision"] as? Int)

        for bad in ["0", "-1", "x", "\(revision * 100)"] {
            let r = try t.get("/v1/hosts?as_of_revision=\(bad)")
            #expect(r.status == 400, "as_of_revision=\(bad)")
            #expect(r.error["parameter"] as? String == "as_of_revision")
        }
        #expect(try t.get("/v1/hosts?as_of_revision=1&as_of=2025-01-02").status == 400)
    }

    @Test("hosts older than the freshness bound are left out and listed as stale, with their age")
    func freshness() throws {
        // Reports dated up to an hour ago; hosts that stopped reporting days earlier are stale.
        let days = 6
        let start = Date().addingTimeInterval(-Double(days) * 86_400 + 3600 - 86_400)
        let fleet = SyntheticFleet(hosts: 40, days: days, seed: 5, start: start)
        let t = try TestAPI(staleAfter: DurationText(seconds: 2 * 86_400))
        #expect(try t.push(reports(fleet, days: 0..<days)).status == 200)

        let r = try t.get("/v1/hosts?limit=1000")
        #expect(r.json["fresh_within_seconds"] as? Int == 2 * 86_400, "the server's default applies")
        let fresh = names(r), stale = names(r, "stale")
        #expect(!fresh.isEmpty && !stale.isEmpty, "fleet has both")
        #expect(Set(fresh).isDisjoint(with: stale))
        #expect((r.json["stale"] as? [String: Any])?["total"] as? Int == stale.count)
        for host in hosts(r) { #expect(host["age_seconds"] as? Int ?? .max <= 2 * 86_400) }
        for host in hosts(r, "stale") { #expect(host["age_seconds"] as? Int ?? 0 > 2 * 86_400) }
        let ages = r.json["data_age_seconds"] as? [String: Any]
        #expect(ages?["oldest"] as? Int == hosts(r).compactMap { $0["age_seconds"] as? Int }.max())

        // The query's own bound wins; off counts every host as fresh.
        let off = try t.get("/v1/hosts?limit=1000&fresh_within=off")
        #expect(Set(names(off)) == Set(fresh + stale))
        #expect(off.json["stale"] is NSNull)
        let wide = try t.get("/v1/hosts?limit=1000&fresh_within=30d")
        #expect(names(wide).count == fresh.count + stale.count)
        // Stale hosts are paged like the matches.
        let paged = try t.get("/v1/hosts?limit=1&where=\(q("has(iommu.vendor)"))")
        #expect(names(paged, "stale").count <= 1)
        if let cursor = (paged.json["stale"] as? [String: Any])?["next_cursor"] as? String {
            let next = try t.get("/v1/hosts?limit=1&where=\(q("has(iommu.vendor)"))&stale_cursor=\(q(cursor))")
            #expect(names(next, "stale").first ?? "" > names(paged, "stale").first ?? "")
        }
        for bad in ["2", "2x", "-1h", "", "on"] {
            #expect(try t.get("/v1/hosts?fresh_within=\(q(bad))").status == 400, "fresh_within=\(bad)")
        }
    }

    @Test("explain=true lists the hosts that did not match, each with the predicate and value that failed")
    func explain() throws {
        let t = try TestAPI()
        try t.pushFleet(SyntheticFleet(hosts: 30, days: 2, seed: 9))
        let expr = "pasid_bits >= 20 and vtd.ecap.nest"
        let r = try t.get("/v1/hosts?where=\(q(expr))&explain=true&limit=1000")
        #expect(r.status == 200)
        let plain = try t.get("/v1/hosts?where=\(q(expr))&limit=1000&fresh_within=off")
        #expect(names(r) == names(plain), "explain does not change the matches")
        let rejected = hosts(r, "not_matching")
        let all = try t.get("/v1/hosts?limit=1000")
        #expect(names(r).count + rejected.count == names(all).count, "every host is on one side")
        #expect((r.json["not_matching"] as? [String: Any])?["total"] as? Int == rejected.count)
        #expect(r.json["total"] as? Int == names(r).count)
        var outcomes = Set<String>()
        for host in rejected {
            let reasons = try #require(host["reasons"] as? [[String: Any]])
            #expect(!reasons.isEmpty)
            for reason in reasons {
                let outcome = try #require(reason["outcome"] as? String)
                outcomes.insert(outcome)
                let message = try #require(reason["message"] as? String)
                if reason["term"] as? String == "pasid_bits", outcome == "false" {
                    let value = try #require(reason["value"] as? Int)
                    #expect(value < 20)
                    // The usable fact's explanation says which half failed: hardware, then the kernel's evidence.
                    #expect(message.hasPrefix("pasid_bits = \(value), needs >= 20 — hardware "), "\(message)")
                    #expect(message.contains("; "), "\(message)")
                }
                if outcome == "unknown" { #expect(reason["value"] is NSNull) }
            }
        }
        #expect(outcomes == ["false", "unknown"], "the fleet has hosts reporting false and hosts never reporting")
        // Both sides are counted and paged: small pages add up to the totals, which every page repeats.
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try t.get("/v1/hosts?where=\(q(expr))&explain=true&limit=4" + (cursor.map { "&not_matching_cursor=\(q($0))" } ?? ""))
            #expect((page.json["not_matching"] as? [String: Any])?["total"] as? Int == rejected.count)
            #expect(page.json["total"] as? Int == names(r).count)
            seen += names(page, "not_matching")
            cursor = (page.json["not_matching"] as? [String: Any])?["next_cursor"] as? String
        } while cursor != nil
        #expect(seen == rejected.compactMap { $0["hostname"] as? String })
        // Without explain the list is absent, and explain must be a boolean.
        #expect(plain.json["not_matching"] is NSNull)
        #expect(try t.get("/v1/hosts?explain=yes").status == 400)
    }

    @Test("profile() works in any query; GET /v1/profiles lists every profile with its conditions")
    func profiles() throws {
        let t = try TestAPI()
        try t.pushFleet(SyntheticFleet(hosts: 30, days: 2, seed: 9))
        let r = try t.get("/v1/profiles")
        #expect(r.status == 200)
        let profiles = try #require(r.json["profiles"] as? [[String: Any]])
        #expect(profiles.compactMap { $0["name"] as? String } == CompatibilityProfile.all.map(\.name))
        let vtd = try #require(profiles.first { $0["name"] as? String == "vtd-nested" })
        #expect((vtd["conditions"] as? [[String: Any]])?.count == CompatibilityProfile.named("vtd-nested")?.conditions.count)
        #expect((vtd["parameters"] as? [[String: Any]])?.contains { $0["name"] as? String == "aw_bits" } == true)

        let call = #"profile("vtd-nested", aw_bits=48, pasid_bits=20)"#
        let answer = try t.get("/v1/hosts?where=\(q(call))&explain=true&limit=1000")
        #expect(answer.status == 200, "\(answer.text.prefix(300))")
        let direct = try t.store.queryHosts(try QueryParser.parse(call), limit: 1000)
        #expect(names(answer) == direct.hosts.map(\.hostname))
        let conditions = hosts(answer, "not_matching").flatMap { $0["reasons"] as? [[String: Any]] ?? [] }.compactMap { $0["condition"] as? String }
        #expect(!conditions.isEmpty && conditions.allSatisfy { $0.contains("vtd-nested") }, "\(conditions.prefix(3))")
        let wrong = try t.get("/v1/hosts?where=\(q(#"profile("vtd-nestd")"#))")
        #expect(wrong.status == 400)
        #expect((wrong.error["suggestions"] as? [String])?.contains("vtd-nested") == true)
    }
}
