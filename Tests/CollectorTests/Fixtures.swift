import Foundation

/// The real-kernel captures in ../shared/captures and the realkernel-run fixtures beside the tests.
enum Fixtures {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `shared/captures` beside the checkout, looked for upwards: a git worktree sits deeper (wt/NAME) than the main checkout.
    static let captures: URL = {
        var dir = repo.deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("shared/captures")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return repo.deletingLastPathComponent().appendingPathComponent("shared/captures")
    }()

    static func capture(_ name: String) -> URL { captures.appendingPathComponent(name) }

    static func text(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    static func hex(_ text: some StringProtocol) -> [UInt8] {
        let digits = Array(text.filter(\.isHexDigit))
        return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    /// A value from a capture's console.txt line `PREFIX VALUE`.
    static func consoleValue(_ capture: String, _ prefix: String) throws -> String {
        let console = try text(self.capture(capture).appendingPathComponent("console.txt"))
        let line = console.split(separator: "\n").first { $0.hasPrefix(prefix + " ") }!
        return String(line.dropFirst(prefix.count + 1))
    }
}
