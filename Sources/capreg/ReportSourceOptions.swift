import API
import ArgumentParser
import Foundation
import RegistryClient
import Store

/// Where a report command (`capreg audit kernel-upgrade`, `audit predict`, `diff`, `why`) reads: the
/// registry database (--db) or a running registry (--server URL, --token). Either way the command gets the
/// same JSON document (the endpoint's), prints it with --json, or renders its table from it, so a table
/// read locally and one read over HTTP cannot differ.
struct ReportSourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Ask a running registry (capreg serve) instead of reading --db.", valueName: "url"))
    var server: String?

    @Option(help: "Reader token for --server (default: $CAPREG_TOKEN).")
    var token: String?

    @OptionGroup var tls: TLSClientOptions

    @OptionGroup var store: StoreOptions

    /// The document: `local` over the database, or GET `path` with `items` of the server. A refusal exits:
    /// 64 the question refused (a bad parameter), 65 `notFound` (nothing to report on), 66 no database at
    /// --db, 69 the registry unreachable or failing, 77 a token refused.
    func document(_ command: String, path: String, items: [(String, String)], local: (Registry) throws -> JSONValue) throws -> [UInt8] {
        guard let server else {
            guard try store.location.exists else {
                printError("\(command): no registry database at \(store.db) (give --db, or --server URL)")
                throw ExitCode(66)
            }
            let registry = try store.open()
            defer { try? registry.close() }
            do {
                return try local(registry).bytes
            } catch let refused as QuestionRefused {
                printError("\(command): \(refused.message)")
                throw ExitCode(refused.exitCode)
            }
        }
        let response: APIClient.Response
        do {
            let client = try APIClient(baseURL: server, token: token ?? ProcessInfo.processInfo.environment["CAPREG_TOKEN"], tls: tls.resolved())
            response = try client.get(APIClient.target(path, items))
        } catch {
            printError("\(command): \(server): \(error)")
            throw ExitCode(69)
        }
        guard response.status == 200 else {
            let failure = WatchFailure(refusal: response, server: server, question: [])
            printError("\(command): \(failure.message)")
            throw ExitCode(response.status == 400 ? 64 : response.status == 404 ? 65 : failure.exitCode)
        }
        return response.body
    }
}

/// A report the registry cannot give as asked, with the exit status it means (the endpoint's 400 is 64, its 404 is 65).
struct QuestionRefused: Error {
    var message: String
    var exitCode: Int32
}

/// A document's JSON as Foundation objects, for rendering a table.
enum ReportDocument {
    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            printError("capreg: the registry answered something that is not a JSON object")
            throw ExitCode(69)
        }
        return object
    }

    /// A fact value as a table shows it: `-` for absent.
    static func value(_ any: Any?) -> String {
        switch any {
        case nil, is NSNull: return "-"
        // JSONSerialization gives true and false as NSNumbers whose objCType is "c" (char).
        case let n as NSNumber where String(cString: n.objCType) == "c": return n.boolValue ? "true" : "false"
        case let n as NSNumber: return n.stringValue
        case let s as String: return s
        default: return "\(any!)"
        }
    }
}
