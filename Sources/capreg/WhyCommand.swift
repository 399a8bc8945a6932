import API
import ArgumentParser
import Decoders
import Foundation
import RegistryClient
import Store
import Timestamps

/// `capreg why HOST NAME --at T`: where one fact of one host came from.
struct WhyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why",
        abstract: "Where a host's fact came from: its value at a time, the report that set it, the raw bytes and decoders behind it, later rewrites.",
        discussion: """
        Shows the fact's value at --at (default now; absent means unknown), the report whose state first \
        gave that value and the report in force then (id, collector version, writer, collected and received \
        times, decoder version), each capability version valid then whose decoded facts give the name (unit, \
        capability, kernel, decoder version, the value it gave and its raw bytes), for a derived fact (the \
        usable half, devices.count) the sources it was decided from and its evidence, and every later \
        redecode or retraction that rewrote the host's facts, saying whether it changed this value.

        Reads --db, or a running registry with --server (GET /v1/hosts/{host}/facts/{name}/provenance).

        Exit status: 0 shown; 64 usage (NAME not in the vocabulary); 65 no such host; 66 no database at --db; \
        69 the registry unreachable; 77 a token refused.
        """
    )

    @Argument(help: "The host's name.")
    var host: String

    @Argument(help: "A host fact of the vocabulary (capreg vocabulary).")
    var name: String

    @Option(help: ArgumentHelp("The time: RFC 3339, a date, or a duration ago such as 7d (default now).", valueName: "time"))
    var at: String?

    @Flag(help: "Print the JSON document (the endpoint's) instead of text.")
    var json = false

    @OptionGroup var source: ReportSourceOptions

    func validate() throws {
        if host.isEmpty || host.utf8.count > 255 { throw ValidationError("HOST must be a hostname of 1 to 255 bytes") }
        if Vocabulary.entry(name) == nil { throw ValidationError("\(name.prefix(80)) is not a host fact of the vocabulary (capreg vocabulary)") }
        if let at { _ = try TimeArgument.parse(at, option: "--at", now: Date()) }
    }

    func run() throws {
        let time = try at.map { try TimeArgument.parse($0, option: "--at", now: Date()) } ?? Date()
        let path = "/v1/hosts/" + APIClient.encode(host) + "/facts/" + APIClient.encode(name) + "/provenance"
        let bytes = try source.document("capreg why", path: path, items: [("at", RFC3339.format(time))]) { registry in
            guard let provenance = try registry.provenance(hostname: host, name: name, at: time) else {
                throw QuestionRefused(message: "no host named \(host)", exitCode: 65)
            }
            return ProvenanceJSON.document(provenance)
        }
        if json {
            FileHandle.standardOutput.write(Data(bytes + [0x0A]))
            return
        }
        let d = try ReportDocument.object(bytes)
        let v = ReportDocument.value
        print("\(v(d["host"])) \(v(d["fact"])) at \(v(d["at"])): \(d["value"] is NSNull ? "absent (unknown)" : v(d["value"]))"
              + (d["valid_from"] is String ? ", valid from \(v(d["valid_from"])) to \(d["valid_to"] is String ? v(d["valid_to"]) : "now")" : ""))
        for (label, key) in [("set by", "set_by"), ("in force", "in_force")] {
            guard let r = d[key] as? [String: Any] else { continue }
            print("\(label): report \(v(r["report_id"])) (revision \(v(r["revision"])), \(v(r["outcome"]))), \(v(r["collector_version"])), "
                  + "kernel \(v(r["kernel"])), written by \(r["written_by"] is String ? v(r["written_by"]) : "unknown"), "
                  + "collected \(v(r["collected_at"])), received \(v(r["received_at"])), decoders v\(v(r["decoder_version"]))")
        }
        if let evidence = d["evidence"] as? String { print("evidence: \(evidence)") }
        let sources = d["sources"] as? [[String: Any]] ?? []
        print(d["derived"] as? Bool == true ? "derived from:" : "sources:")
        if sources.isEmpty { print("  none valid then") }
        var rows = [["unit", "capability", "kernel", "decoders", "value", "first sent by", "raw (hex)"]]
        for s in sources {
            let raw = Data(base64Encoded: s["raw_base64"] as? String ?? "").map { $0.map { String(format: "%02x", $0) }.joined() } ?? "?"
            rows.append([v(s["unit"]), v(s["capability"]), v(s["kernel"]), "v" + v(s["decoder_version"]),
                         v(s["value"]), v(s["first_sent_by"]), raw.count > 64 ? String(raw.prefix(64)) + "… (\(raw.count / 2) bytes; --json for all)" : raw])
        }
        if !sources.isEmpty { print(TextTable.render(rows).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")) }
        let rewrites = d["rewrites"] as? [[String: Any]] ?? []
        if rewrites.isEmpty { print("no later redecode or retraction rewrote this host's facts") }
        for r in rewrites {
            print("\(v(r["kind"])) at \(v(r["at"])) (revision \(v(r["revision"])), decoders v\(v(r["decoder_version"]))): value before \(v(r["before"]))"
                  + (r["changed_value"] as? Bool == true ? ", changed by it" : ", unchanged by it"))
        }
    }
}
