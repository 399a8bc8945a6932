import Foundation
import Testing
import TestSupport

@Suite("capreg serve")
struct ServeCommandTests {
    @Test("SIGTERM: stops, checkpoints the WAL and exits 0")
    func gracefulShutdown() throws {
        let dir = try TempDir()
        let db = dir.path("r.sqlite")
        let synth = try CapregBinary.run(["synth", "--hosts", "3", "--days", "2", "--ingest", "--db", db])
        #expect(synth.status == 0)
        let log = dir.url.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = try CapregBinary.url()
        process.arguments = ["serve", "--db", db, "--listen", "127.0.0.1:0"]
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var text = ""
        for _ in 0..<200 where !text.contains("listening on") {
            usleep(50_000)
            text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        }
        #expect(text.contains("listening on 127.0.0.1:"), "\(text)")
        #expect(!text.contains("capreg redecode"), "reports decoded by today's decoders need no redecode: \(text)")
        process.terminate()  // SIGTERM
        process.waitUntilExit()
        text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("WAL checkpointed"))
        // TRUNCATE checkpoint: the WAL is empty (or gone) once the server has stopped.
        let wal = (try? FileManager.default.attributesOfItem(atPath: db + "-wal")[.size] as? NSNumber)?.intValue ?? 0
        #expect(wal == 0)
    }

    @Test("a non-loopback address without tokens is refused unless --insecure")
    func refusesOpenListen() throws {
        let dir = try TempDir()
        let run = try CapregBinary.run(["serve", "--db", dir.path("r.sqlite"), "--listen", "0.0.0.0:0"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("refusing to listen on 0.0.0.0 without tokens"))
        #expect(run.stderr.contains("--insecure"))
    }

    @Test("a tokens file listing a token twice stops serve with status 64 naming the file and both lines")
    func refusesDuplicateToken() throws {
        let dir = try TempDir()
        let file = dir.path("tokens")
        try Data("reader rrrrrrrrrrrrrrrrrrrr\nadmin rrrrrrrrrrrrrrrrrrrr\n".utf8).write(to: URL(fileURLWithPath: file))
        let run = try CapregBinary.run(["serve", "--db", dir.path("r.sqlite"), "--listen", "127.0.0.1:0", "--tokens", file], timeout: 20)
        #expect(run.status == 64)
        #expect(run.stderr.contains("\(file):2: this token is already listed at line 1 of \(file) (as reader)"), "\(run.stderr)")
    }

    @Test("serve --port is refused naming --listen with the port filled in")
    func portNamesListen() throws {
        let dir = try TempDir()
        let run = try CapregBinary.run(["serve", "--db", dir.path("r.sqlite"), "--port", "9090"], timeout: 20)
        #expect(run.status == 64)
        #expect(run.stderr.contains("there is no --port: give --listen HOST:PORT, e.g. --listen 127.0.0.1:9090"), "\(run.stderr)")
    }

    @Test("admission limits that cannot work are refused at start, naming the flag")
    func refusesImpossibleAdmissionLimits() throws {
        let dir = try TempDir()
        let cases: [([String], String)] = [
            (["--max-buffered-body-bytes", "1000", "--max-body-bytes", "2000"],
             "--max-buffered-body-bytes (1000) must be at least --max-body-bytes (2000)"),
            (["--reserved-anonymous-connections", "8", "--max-connections", "8"],
             "--reserved-anonymous-connections must be at least 1 and below --max-connections (8)"),
            (["--max-connections-per-identity", "0"], "--max-connections-per-identity must be at least 1"),
        ]
        for (flags, message) in cases {
            let run = try CapregBinary.run(["serve", "--db", dir.path("r.sqlite"), "--listen", "127.0.0.1:0"] + flags, timeout: 20)
            #expect(run.status == 64, "\(flags)")
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
    }
}
