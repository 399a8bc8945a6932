import Foundation
import Store
import Testing
import TestSupport
@testable import StorePostgres

/// sslmode=require and verify-full against a cluster of the test's own with a self-signed certificate.
@Suite(.enabled(if: PostgresCluster.usable, Fixtures.skipNote))
struct TLSTests {
    @Test func requireAndVerifyFullEncryptAndVerifyFullChecksTheCertificate() throws {
        guard try PostgresCluster.local() != nil else {
            print("note: TLS tests need a local cluster; skipped with CAPREG_TEST_POSTGRES_URL")
            return
        }
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let root = try cluster.enableTLS()
        let url = try cluster.freshDatabase()
        let encrypted = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

        for options in ["?sslmode=require", "?sslmode=verify-full&sslrootcert=\(root)"] {
            let db = try PostgresDatabase(url: url + options, migrations: [])
            #expect(try db.read { c in try c.value(encrypted, as: Bool.self) } == true, "\(options)")
            try db.close()
        }
        let plain = try PostgresDatabase(url: url, migrations: [])
        #expect(try plain.read { c in try c.value(encrypted, as: Bool.self) } == false)
        try plain.close()

        // The system's trust roots do not know the self-signed certificate.
        do {
            _ = try PostgresDatabase(url: url + "?sslmode=verify-full&connect_timeout=5", migrations: [])
            Issue.record("verify-full accepted an unknown certificate")
        } catch let error as PostgresUnavailable {
            #expect(error.summary.contains("127.0.0.1:\(cluster.port)"), "\(error)")
        }
    }
}
