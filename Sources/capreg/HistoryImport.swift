import Foundation
import Report
import Store
import Timestamps

/// Loads a checked JSON Lines export (HistoryFiles.verify) into an empty registry: reports from their
/// payloads, with their received times and writers, and retractions, in the order of their revisions.
enum HistoryImport {
    struct Retracted {
        var revision: Int64
        var reportId: String
        var at: Date
        var reason: String
    }

    static func load(directory: String, into registry: Registry) throws -> (reports: Int, retractions: Int) {
        var retractions: [Retracted] = []
        try forEachLine(directory + "/retractions.jsonl") { object, line in
            guard let revision = object["revision"] as? Int, let id = object["report_id"] as? String, let at = object["at"] as? String,
                  let reason = object["reason"] as? String, let time = try? RFC3339.parse(at) else {
                throw HistoryFiles.Failure(message: "retractions.jsonl:\(line): a retraction needs revision, report_id, at and reason")
            }
            retractions.append(Retracted(revision: Int64(revision), reportId: id, at: time, reason: reason))
        }
        retractions.sort { $0.revision < $1.revision }
        var next = 0
        var stored = 0
        try forEachLine(directory + "/reports.jsonl") { object, line in
            guard let revision = object["revision"] as? Int, let received = (object["received_at"] as? String).flatMap({ try? RFC3339.parse($0) }),
                  let payload = object["payload"] else {
                throw HistoryFiles.Failure(message: "reports.jsonl:\(line): a report needs revision, received_at and payload")
            }
            // Retractions made before this report was stored come first, as they did.
            while next < retractions.count && retractions[next].revision < Int64(revision) {
                _ = try registry.retract(reportId: retractions[next].reportId, reason: retractions[next].reason, at: retractions[next].at)
                next += 1
            }
            let report: Report
            do {
                report = try Report.decode(json: try JSONSerialization.data(withJSONObject: payload), clock: nil)
            } catch {
                throw HistoryFiles.Failure(message: "reports.jsonl:\(line): the payload does not decode: \(error)")
            }
            let writer = try? Writer(identity: object["written_by"] as? String, peer: object["peer"] as? String)
            let results = try registry.ingest([report], receivedAt: received, writer: writer ?? nil)
            if let result = results.first, result.outcome == .rejected {
                throw HistoryFiles.Failure(message: "reports.jsonl:\(line): report \(report.reportId) refused: \(result.error ?? "")")
            }
            stored += 1
        }
        while next < retractions.count {
            _ = try registry.retract(reportId: retractions[next].reportId, reason: retractions[next].reason, at: retractions[next].at)
            next += 1
        }
        return (stored, retractions.count)
    }

    /// Each line of a JSON Lines file as an object, with its line number.
    static func forEachLine(_ path: String, _ body: ([String: Any], Int) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw HistoryFiles.Failure(message: "\(path): missing") }
        defer { try? handle.close() }
        var pending = Data()
        var number = 0
        func emit(_ line: Data) throws {
            number += 1
            guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
                throw HistoryFiles.Failure(message: "\(path):\(number): not a JSON object")
            }
            try body(object, number)
        }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                try emit(pending[pending.startIndex..<newline])
                pending = pending[(newline + 1)...]
            }
            pending = Data(pending)
        }
        if !pending.isEmpty { try emit(pending) }
    }
}
