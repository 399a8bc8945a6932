import Foundation
import Store
import Testing
import TestSupport
@testable import StorePostgres

/// Losing the server: a cluster of the test's own (the shared one serves the other tests meanwhile),
/// restarted or stopped under an open store; several hosts in one URL.
@Suite(.enabled(if: PostgresCluster.usable, Fixtures.skipNote), .serialized)
struct ReconnectTests {
    /// A cluster this test may restart; nil (the test passes vacuously, with a note) on a configured server.
    func privateCluster() throws -> PostgresCluster? {
        guard try PostgresCluster.local() != nil else {
            print("note: restart tests need a local cluster; skipped with CAPREG_TEST_POSTGRES_URL")
            return nil
        }
        return try PostgresCluster()
    }

    @Test func theStoreReconnectsAfterARestart() throws {
        guard let cluster = try privateCluster() else { return }
        defer { cluster.stop() }
        let db = try PostgresDatabase(url: cluster.freshDatabase(), migrations: Migration.postgres)
        defer { try? db.close() }
        try db.write { c in _ = try c.execute("CREATE TABLE t (n BIGINT)") }
        // Several pooled connections, all idle when the server goes.
        Fixtures.onThreads(4) { i in _ = try? db.write { c in _ = try c.execute("INSERT INTO t VALUES (?)", [i]) } }

        try cluster.restart()
        try db.write { c in _ = try c.execute("INSERT INTO t VALUES (10)") }
        #expect(try db.read { c in try c.value("SELECT count(*) FROM t", as: Int.self) } == 5)

        // A transaction open while the server restarts fails, with a connection error; the next succeeds.
        do {
            try db.write { c in
                try c.execute("INSERT INTO t VALUES (11)")
                try cluster.restart()
                try c.execute("INSERT INTO t VALUES (12)")
            }
            Issue.record("a write across a restart succeeded")
        } catch let error as PostgresBackendError {
            #expect(error.connectionLost, "\(error)")
        }
        try db.write { c in _ = try c.execute("INSERT INTO t VALUES (13)") }
        #expect(try db.read { c in try c.values("SELECT n FROM t WHERE n > 9 ORDER BY n", as: Int.self) } == [10, 13])
        #expect(try db.integrityCheck() == "ok")
    }

    @Test func aStoppedServerFailsTransactionsUntilItIsBack() throws {
        guard let cluster = try privateCluster() else { return }
        defer { cluster.stop() }
        let db = try PostgresDatabase(url: cluster.freshDatabase() + "?connect_timeout=2", migrations: [])
        defer { try? db.close() }
        try cluster.stopServer()
        do {
            _ = try db.read { c in try c.rows("SELECT 1") }
            Issue.record("a read with the server stopped succeeded")
        } catch let error as any SQLBackendError {
            #expect(!error.summary.isEmpty)
        }
        try cluster.start()
        #expect(try db.read { c in try c.value("SELECT 1", as: Int.self) } == 1)
    }

    @Test func aHostThatRefusesIsPassedOver() throws {
        let url = try PostgresCluster.freshDatabase()
        guard let authority = url.range(of: "@") else { return }
        let refusing = "127.0.0.1:\(try PostgresCluster.freePort())"
        let db = try PostgresDatabase(url: url.replacingCharacters(in: authority, with: "@\(refusing),"), migrations: [])
        defer { try? db.close() }
        #expect(try db.write { c in try c.value("SELECT 1", as: Int.self) } == 1)
        #expect(db.location.contains(refusing))

        let nowhere = "postgres://postgres@\(refusing),127.0.0.1:\(try PostgresCluster.freePort())/x?connect_timeout=2"
        do {
            _ = try PostgresDatabase(url: nowhere, migrations: [])
            Issue.record("no host answered, yet the store opened")
        } catch let error as PostgresUnavailable {
            #expect(error.summary.contains("no writable PostgreSQL among 2 host(s)"))
            #expect(error.summary.contains(refusing))
        }
    }

    /// A real standby (pg_basebackup -R of the primary) listed first: the store writes to the primary.
    @Test func aStandbyIsPassedOverForThePrimary() throws {
        guard let primary = try privateCluster() else { return }
        defer { primary.stop() }
        let url = try primary.freshDatabase()
        let standby = try primary.standby()
        defer { standby.stop() }
        let database = String(url[url.index(after: url.lastIndex(of: "/")!)...])
        let standbyFirst = "postgres://postgres@127.0.0.1:\(standby.port),127.0.0.1:\(primary.port)/\(database)"
        let db = try PostgresDatabase(url: standbyFirst, migrations: Migration.postgres)
        defer { try? db.close() }
        #expect(try db.write { c in try c.value("SELECT inet_server_port()", as: Int.self) } == primary.port)
        #expect(try db.integrityCheck() == "ok")
    }
}
