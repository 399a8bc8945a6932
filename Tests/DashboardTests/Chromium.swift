import Foundation

/// Debian's headless Chromium, driven from the command line: `--dump-dom` gives the DOM after parsing
/// (what the user's browser builds, not the bytes sent), `--screenshot` a PNG, and
/// `--enable-logging=stderr` prints every console message as an `INFO:CONSOLE` line. The dashboard has
/// no script, so any console message at all (a CSP refusal, an error) is a failure.
struct Chromium {
    let path: String
    /// One profile per test run, so no state leaks between runs.
    let profile: URL

    /// `CAPREG_CHROMIUM`, else the first of chromium, chromium-browser on PATH.
    static func find() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["CAPREG_CHROMIUM"], FileManager.default.isExecutableFile(atPath: explicit) { return explicit }
        for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            for name in ["chromium", "chromium-browser"] {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// CI sets CAPREG_BROWSER_REQUIRED=1 (.ci/run): there a missing browser is a failure, not a skip.
    static var required: Bool { ProcessInfo.processInfo.environment["CAPREG_BROWSER_REQUIRED"] == "1" }

    struct Run {
        var status: Int32
        var stdout: String
        /// `INFO:CONSOLE` lines of stderr.
        var console: [String]
        var stderr: String
    }

    func run(_ url: String, _ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                             "--user-data-dir=\(profile.path)", "--enable-logging=stderr", "--v=0"] + arguments + [url]
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes while it runs: a full pipe would stall Chromium.
        let errData = LockedData()
        let reader = Thread { errData.set(error.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errData.done { usleep(10_000) }
        let stderr = String(decoding: errData.data, as: UTF8.self)
        let console = stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), console: console, stderr: stderr)
    }

    func dumpDOM(_ url: String) throws -> Run { try run(url, ["--dump-dom"]) }

    func screenshot(_ url: String, to file: URL, height: Int) throws -> Run {
        try run(url, ["--screenshot=\(file.path)", "--window-size=1280,\(height)"])
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var value = Data()
    private var finished = false
    func set(_ data: Data) { lock.lock(); value = data; finished = true; lock.unlock() }
    var done: Bool { lock.lock(); defer { lock.unlock() }; return finished }
    var data: Data { lock.lock(); defer { lock.unlock() }; return value }
}
