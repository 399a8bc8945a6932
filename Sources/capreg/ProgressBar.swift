import Foundation

/// A one-line progress bar on standard error, drawn only when standard error is a terminal, at most
/// ten times a second.
struct ProgressBar {
    let total: Int?
    let unit: String
    let enabled = isatty(2) == 1
    private let start = Date()
    private var lastDraw = Date.distantPast

    init(total: Int?, unit: String) {
        self.total = total
        self.unit = unit
    }

    mutating func update(_ done: Int, force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let rate = Double(done) / max(now.timeIntervalSince(start), 0.001)
        var line = "\(done)"
        if let total, total > 0 {
            let width = 30
            let filled = min(width, done * width / total)
            line = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(done)/\(total)"
        }
        line += " \(unit)  \(Int(rate))/s"
        FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// Standard error, for messages that are not the command's output.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
