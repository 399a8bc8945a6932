import Foundation

/// The `capreg` binary built beside the test bundle (`swift build --build-tests` builds both), run as a
/// user would. Found from the running test process, so any scratch path (`.build`, `--scratch-path`) works.
public enum CapregBinary {
    /// Thrown when the binary is missing or `capreg serve` does not start; Swift Testing records it
    /// as the test's failure, with this text.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public struct Run: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Looks beside argv[0] (the test runner), then in and beside the main bundle.
    public static func url() throws -> URL {
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let bundle = Bundle.main.bundleURL.resolvingSymlinksInPath()
        let candidates = [argv0.deletingLastPathComponent(), bundle, bundle.deletingLastPathComponent()]
        for dir in candidates {
            let binary = dir.appendingPathComponent("capreg")
            if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }
        }
        throw Failure(description: "the capreg binary is not beside the test bundle (looked in \(candidates.map(\.path))); "
                                 + "run `swift build --build-tests` first")
    }

    /// Runs `capreg arguments` to the end, `stdin` piped in (empty: the child reads end of file at once),
    /// in `directory` when given (for commands that use ./capreg.sqlite). `environment` is added to (and
    /// overrides) the test process's own. With `timeout` the child is sent SIGTERM once it has run that
    /// long, so a command expected to refuse and exit (e.g. `serve` with a bad tokens file) cannot hang the
    /// suite when it wrongly starts instead.
    public static func run(_ arguments: [String], stdin: Data = Data(), in directory: URL? = nil, environment: [String: String] = [:],
                           timeout: TimeInterval? = nil) throws -> Run {
        let process = Process()
        process.executableURL = try url()
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        if let timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if process.isRunning { process.terminate() } }
        }
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    /// Starts `capreg arguments` in the background (a follower, a daemon), its standard error going to `log`
    /// (created empty), its standard output discarded. The caller stops it.
    public static func start(_ arguments: [String], log: URL) throws -> Process {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = try url()
        process.arguments = arguments
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// A running `capreg serve` on a free loopback port (read from its start line), without tokens.
    public final class Server {
        public let process: Process
        public let port: UInt16
        public let log: URL

        init(process: Process, port: UInt16, log: URL) {
            self.process = process
            self.port = port
            self.log = log
        }

        /// SIGTERM and wait; the exit status.
        @discardableResult
        public func stop() -> Int32 {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            return process.terminationStatus
        }
    }

    /// Starts `capreg serve --db db --listen 127.0.0.1:0 extra…`, its standard error going to `log`, and
    /// waits (up to 10 s) for the port it prints.
    public static func serve(db: String, log: URL, extra: [String] = []) throws -> Server {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = try url()
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
        throw Failure(description: "capreg serve did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }
}
