import API
import Foundation
import Testing
import TestSupport
import RegistryClient

/// README.md's first run, as written: its `synth` command, then the seed's question through the API
/// (the curl line, sent to `capreg serve` on a free port), then its `capreg query` lines, whose printed
/// last lines must be the ones README.md shows. A newcomer's first answer must have hosts in it.
@Suite(.serialized) struct ReadmeFirstRunTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    /// The fenced block (```sh or ```console) that follows `marker` in README.md, one line each.
    static func block(after marker: String) throws -> [String] {
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: marker), "README.md no longer says \(marker)")
        let rest = text[start.upperBound...]
        let open = try #require(rest.range(of: "```"))
        let body = rest[open.upperBound...].drop { $0 != "\n" }.dropFirst()
        let close = try #require(body.range(of: "```"))
        return body[..<close.lowerBound].split(separator: "\n").map(String.init)
    }

    /// Shell words of a command line: spaces split, single quotes group (all the README uses).
    static func words(_ line: String) -> [String] {
        var out: [String] = [], word = "", quoted = false, started = false
        for c in line {
            if c == "'" { quoted.toggle(); started = true } else if c == " " && !quoted {
                if started { out.append(word) }
                word = ""; started = false
            } else { word.append(c); started = true }
        }
        if started { out.append(word) }
        return out
    }

    /// `capreg ARGS` (or `swift run -c release capreg ARGS`): ARGS.
    static func capregArguments(_ line: String) throws -> [String] {
        let w = words(line)
        let at = try #require(w.firstIndex(of: "capreg"), "not a capreg command: \(line)")
        return Array(w[(at + 1)...])
    }

    @Test func theSeedsQuestionHasHosts() throws {
        let dir = try TempDir()
        let setUp = try Self.block(after: "ask the seed's question:")
        let synthLine = try #require(setUp.first { $0.contains("capreg synth") })
        let synth = try CapregBinary.run(try Self.capregArguments(synthLine), in: dir.url)
        #expect(synth.status == 0, "\(synthLine): \(synth.stderr)")

        // The curl line's request, sent to `capreg serve` (README's set-up) on ./capreg.sqlite.
        let curl = try #require(setUp.first { $0.hasPrefix("curl ") })
        let url = try #require(Self.words(curl).first { $0.hasPrefix("http://") })
        let target = String(url.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" })
        let server = try CapregBinary.serve(db: dir.path("capreg.sqlite"), log: dir.url.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let response = try APIClient(host: "127.0.0.1", port: server.port).get(target)
        #expect(response.status == 200, "\(target): \(response.text)")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let hosts = answer["hosts"] as? [Any] ?? []
        #expect(!hosts.isEmpty, "the README's first question answers hosts: \(response.text.prefix(400))")

        // Each `$ capreg query …` line of the next block, and the line README.md shows it printing.
        let shown = try Self.block(after: "The same question from the command line")
        var asked = 0
        for (i, line) in shown.enumerated() where line.hasPrefix("$ capreg query") {
            let command = line.dropFirst(2).components(separatedBy: " | tail -1")[0]
            let run = try CapregBinary.run(try Self.capregArguments(command), in: dir.url)
            #expect(run.status == 0, "\(command): \(run.stderr)")
            let last = run.stdout.split(separator: "\n").last.map(String.init)
            #expect(last == shown[i + 1], "README.md shows what `\(command)` prints")
            asked += 1
        }
        #expect(asked == 2, "both halves of the seed's question")
    }
}
