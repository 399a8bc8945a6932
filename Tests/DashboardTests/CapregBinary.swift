import Foundation
import Testing

/// The `capreg` binary built beside this test bundle (`swift build --build-tests` builds both), run as
/// a user would.
enum CapregBinary {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func path() throws -> URL {
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let bundle = Bundle.main.bundleURL.resolvingSymlinksInPath()
        let candidates = [argv0.deletingLastPathComponent(), bundle, bundle.deletingLastPathComponent()]
        for dir in candidates {
            let binary = dir.appendingPathComponent("capreg")
            if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }
        }
        Issue.record("the capreg binary is not beside the test bundle (looked in \(candidates.map(\.path))); run `swift build --build-tests` first")
        throw CancellationError()
    }

    static func run(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = try path()
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    /// A running `capreg serve` on a free loopback port (read from its start line), without tokens.
    final class Server {
        let process: Process
        let port: UInt16
        let log: URL

        init(process: Process, port: UInt16, log: URL) {
            self.process = process
            self.port = port
            self.log = log
        }

        /// SIGTERM and wait; the exit status.
        @discardableResult
        func stop() -> Int32 {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            return process.terminationStatus
        }
    }

    static func serve(db: String, log: URL, extra: [String] = []) throws -> Server {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = try path()
        process.arguments = ["serve", "--db", db, "--listen", "127.0.0.1:0"] + extra
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: "listening on 127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = UInt16(digits) { return Server(process: process, port: port, log: log) }
            }
            if !process.isRunning { break }
            usleep(50_000)
        }
        process.terminate()
        Issue.record("capreg serve did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        throw CancellationError()
    }
}
