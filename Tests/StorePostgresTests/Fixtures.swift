import Foundation
import Store
import Testing
import TestSupport
@testable import StorePostgres

/// Test helpers over the throwaway cluster (TestSupport.PostgresCluster).
enum Fixtures {
    static let skipNote: Comment = "PostgreSQL not available (apt-get install postgresql, or CAPREG_TEST_POSTGRES_URL); CI sets CAPREG_POSTGRES_REQUIRED=1 and fails instead"

    /// A store on a fresh database. Without the registry's schema unless asked: most tests make tables
    /// of their own.
    static func database(schema: Bool = false, pool: Int? = nil) throws -> PostgresDatabase {
        var url = try PostgresCluster.freshDatabase()
        if let pool { url += (url.contains("?") ? "&" : "?") + "pool=\(pool)" }
        return try PostgresDatabase(url: url, migrations: schema ? Migration.postgres : [])
    }

    /// Runs `body` on `count` threads at once and waits for them all.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            Thread.detachNewThread {
                body(i)
                group.leave()
            }
        }
        group.wait()
    }
}
