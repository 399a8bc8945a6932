import Foundation
import GRDB
import Report
import Testing
import TestSupport
@testable import Store
import StoreSQLite
import TestRegistry
#if canImport(Glibc)
import Glibc
@testable import Synthetic
#endif

/// kill -9 while `capreg ingest - --ack` is committing: every report it acknowledged must be in the
/// database afterwards, and the database must pass PRAGMA integrity_check.
@Suite(.serialized) struct CrashTests {
    /// Reads a child's standard output on a thread of its own.
    final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    lock.lock(); data.append(chunk); lock.unlock()
                }
                done.signal()
            }
        }

        func waitForEOF() -> String {
            done.wait()
            lock.lock(); defer { lock.unlock() }
            return String(decoding: data, as: UTF8.self)
        }
    }

    @Test func killedIngestLosesNoAcknowledgedReport() throws {
        signal(SIGPIPE, SIG_IGN)
        let binary = try CapregBinary.url()
        let dir = try TempDir()
        let db = dir.path("crash.sqlite")
        var g = SplitMix64(seed: 42)
        var reports: [Report] = []
        SyntheticFleet(hosts: 60, days: 8, seed: 9).forEachReport { reports.append($0) }
        reports.shuffle(using: &g)  // out-of-order arrivals too
        let lines = try reports.map { String(decoding: try Report.encoder.encode($0), as: UTF8.self) + "\n" }
        var acknowledged = Set<String>()
        var killedMidway = 0
        let rounds = 6
        for round in 0..<rounds {
            let last = round == rounds - 1
            let process = Process()
            process.executableURL = binary
            process.arguments = ["ingest", "-", "--db", db, "--ack", "--batch", String(1 + Int(g.next() % 4))]
            let input = Pipe(), output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let collector = Collector(output.fileHandleForReading)
            // Everything again each round, the unacknowledged first so that the kill lands on real writes;
            // stored reports are no-ops.
            let fd = input.fileHandleForWriting.fileDescriptor
            let order = reports.indices.filter { !acknowledged.contains(reports[$0].reportId) }
                + reports.indices.filter { acknowledged.contains(reports[$0].reportId) }
            let payload = Array(order.map { lines[$0] }.joined().utf8)
            Thread.detachNewThread {
                var offset = 0
                while offset < payload.count {
                    let n = payload[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    offset += n
                }
                try? input.fileHandleForWriting.close()
            }
            if !last {
                usleep(UInt32(20_000 + g.next() % 150_000))
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            if !last && process.terminationReason == .uncaughtSignal { killedMidway += 1 }
            let acks = collector.waitForEOF().split(separator: "\n").compactMap { line -> String? in
                let parts = line.split(separator: " ")
                return parts.count == 3 && parts[0] == "ack" ? String(parts[1]) : nil
            }
            acknowledged.formUnion(acks)
            if last { #expect(process.terminationStatus == 0, "the last, uninterrupted round finishes") }

            let store = try Registry.sqlite(path: db)
            #expect(try store.integrityCheck() == "ok", "round \(round)")
            #expect(try store.foreignKeyViolations() == [], "round \(round)")
            let stored = try store.keptReportIds(reports.filter { acknowledged.contains($0.reportId) })
            #expect(stored == acknowledged, "round \(round): acknowledged but missing: \(acknowledged.subtracting(stored).sorted().prefix(5))")
        }
        #expect(killedMidway >= (rounds - 1) / 2, "most kills must land while the child runs (\(killedMidway) of \(rounds - 1))")
        #expect(acknowledged.count == reports.count, "the last round acknowledged every report")
        // The history that crashes and retries left equals one clean ingest of the same reports.
        let crashed = try Registry.sqlite(path: db)
        let clean = try Registry.sqlite(path: dir.path("clean.sqlite"))
        _ = try clean.ingest(reports)
        #expect(try crashed.hosts().map(\.facts) == clean.hosts().map(\.facts))
        let t = SyntheticFleet(hosts: 1, days: 1, seed: 9).start.addingTimeInterval(3.5 * 86_400)
        #expect(try crashed.factsAsOf(t) == clean.factsAsOf(t))
    }
}
