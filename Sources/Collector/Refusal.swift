import Foundation
import Timestamps

/// Why the registry refused a report, kept beside it in SPOOL/rejected/ as `r-….why` (JSON) so that
/// `capreg collect --status` can say what was wrong long after the log line scrolled away.
public struct Refusal: Codable, Equatable, Sendable {
    /// The HTTP status (400, 413, 415 or 422).
    public var status: Int
    /// The registry's error message (its body's `error.message`, with `error.path` when given), else the
    /// body's first `maxMessage` bytes.
    public var message: String
    /// When the collector moved it aside (RFC 3339).
    public var rejectedAt: String

    /// Longest message kept, in bytes of the registry's body.
    public static let maxMessage = 1000

    enum CodingKeys: String, CodingKey {
        case status, message
        case rejectedAt = "rejected_at"
    }

    public init(status: Int, message: String, rejectedAt: Date) {
        self.status = status
        self.message = message
        self.rejectedAt = RFC3339.format(rejectedAt)
    }

    /// From the registry's answer: its error body is `{"error": {"code", "message", "path"?}}` (docs/api.md).
    public init(status: Int, body: String, at: Date) {
        var message = String(decoding: Array(body.utf8.prefix(Self.maxMessage)), as: UTF8.self)
        if let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
           let error = object["error"] as? [String: Any], let said = error["message"] as? String {
            message = String(said.prefix(Self.maxMessage))
            if let path = error["path"] as? String, !said.contains(path) { message = "\(path): \(message)" }
        }
        self.init(status: status, message: message, rejectedAt: at)
    }
}

/// A report in SPOOL/rejected/: never retried, never deleted by the collector.
public struct RejectedReport: Equatable, Sendable {
    public var name: String
    public var size: Int
    /// nil for a report moved aside before refusals were recorded (or whose `.why` cannot be read).
    public var refusal: Refusal?
}

extension Spool {
    /// `r-….json` → `r-….why` (in rejected/).
    func refusalName(_ name: String) -> String {
        (name.hasSuffix(".json") ? String(name.dropLast(5)) : name) + ".why"
    }

    /// The reports in rejected/, oldest first, each with the registry's refusal when it was recorded.
    public func rejected() -> [RejectedReport] {
        guard case .success(let names) = FileReader.list(rejectedDirectory) else { return [] }
        return names.filter { $0.hasPrefix("r-") && $0.hasSuffix(".json") }.sorted().compactMap { name in
            let path = rejectedDirectory + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
            let refusal: Refusal? = FileManager.default.contents(atPath: rejectedDirectory + "/" + refusalName(name)).flatMap { try? JSONDecoder().decode(Refusal.self, from: $0) }
            return RejectedReport(name: name, size: (attributes[.size] as? Int) ?? 0, refusal: refusal)
        }
    }
}
