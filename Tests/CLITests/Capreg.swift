import Foundation
import Testing

/// Runs the `capreg` binary built beside this test bundle (`swift build --build-tests` builds both).
enum Capreg {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func binary() throws -> URL {
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

    static func run(_ arguments: [String], stdin: Data = Data()) throws -> Run {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }
}
