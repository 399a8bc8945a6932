import Foundation
import Logging
import Store
import Timestamps

/// `capreg serve --keep-heartbeats`: once at start and then every hour, deletes heartbeat rows older than
/// the kept span. Several replicas on one database may each run it: a delete of what is already gone
/// deletes nothing.
enum HeartbeatPruner {
    static func start(_ registry: Registry, keep seconds: Int64, logger: Logger) {
        Thread.detachNewThread {
            while true {
                do {
                    let cutoff = Date().addingTimeInterval(-Double(seconds))
                    let rows = try registry.pruneHeartbeats(olderThan: cutoff)
                    if rows > 0 { logger.info("heartbeats: deleted \(rows) rows older than \(RFC3339.format(cutoff))") }
                } catch {
                    logger.error("heartbeats: pruning failed (will retry in an hour): \(StoreErrorText.summary(error))")
                }
                Thread.sleep(forTimeInterval: 3600)
            }
        }
    }
}
