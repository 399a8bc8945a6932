import API
import ArgumentParser
import Foundation
import Store
import Timestamps

/// `capreg token`: credentials in the registry (issue, list, revoke, rotate, events) and the enrollment
/// codes that become them (enroll, codes; TokenEnrollCommand.swift).
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue, list, revoke and rotate the registry's bearer credentials and enrollment codes.",
        discussion: """
        Credentials live in the registry database (--db); capreg serve reads them as requests come (each at most every half second), so an issue \
        or a revocation counts within a second and an expiry at once, without restart. Only the SHA-256 of a \
        secret is stored: the secret (capreg_ID_64HEX) is printed once, by issue or rotate. Every issue, \
        rotation, revocation and enrollment is recorded (capreg token events) and never deleted.

        A collector credential is bound to the host it may write (--host and/or --machine-id; --host-pattern \
        only by an admin's explicit choice): POST /v1/reports for another host is refused (403 host_mismatch). \
        Tokens of the --tokens file stay valid beside these, unbound: they are the bootstrap for the first admin.

        A new host can enroll instead of being handed a secret: capreg token enroll --host NAME prints a \
        one-time code (capreg_enroll_ID_64HEX, 1h by default, 7d at most); on the host, capreg collect \
        --enroll CODE --server URL trades it (POST /v1/enroll) for a collector credential bound to the same \
        host, kept in the collector's spool directory. A code works once; capreg token codes lists them, \
        capreg token revoke takes a code's id as well as a credential's.

        Exit status: 0 done; 64 usage; 65 no such credential or code, a rotation of a revoked or expired \
        credential, a revocation of a used code, or a binding refused; 66 no database at --db (issue and \
        enroll create it).
        """,
        subcommands: [TokenIssueCommand.self, TokenListCommand.self, TokenRevokeCommand.self, TokenRotateCommand.self,
                      TokenEnrollCommand.self, TokenCodesCommand.self, TokenEventsCommand.self]
    )

    /// `90d`: the store's default credential lifetime (one place, shared with POST /v1/enroll), as --expires reads it.
    static let defaultExpiry = DurationText(seconds: Credential.defaultLifetime).description

    /// The registry at `store.db`; a mistyped --db must not create an empty one (exit 66), except for issue.
    static func open(_ store: StoreOptions, creating: Bool = false) throws -> Registry {
        guard try creating || store.location.exists else {
            printError("capreg token: no registry database at \(store.db) (give --db)")
            throw ExitCode(66)
        }
        return try store.open()
    }

    /// Runs a store action; a refused one (unknown id, bad binding) exits 65 with its words.
    static func refusing<T>(_ action: () throws -> T) throws -> T {
        do {
            return try action()
        } catch let error as CredentialError {
            printError("capreg token: \(error)")
            throw ExitCode(65)
        }
    }

    static func duration(_ text: String, option: String) throws -> Int64 {
        do { return try DurationText.parse(text).seconds } catch { throw ValidationError("\(option) \(error)") }
    }

    /// JSON null for nil (JSONSerialization takes NSNull).
    static func orNull(_ value: Any?) -> Any { value ?? NSNull() }

    static func time(_ date: Date?) -> Any { orNull(date.map(RFC3339.format)) }

    static func object(_ c: Credential) -> [String: Any] {
        ["id": c.id, "role": c.role.rawValue, "hostname": orNull(c.binding?.hostname), "machine_id": orNull(c.binding?.machineId),
         "host_pattern": c.binding?.isPattern ?? false, "state": c.state(at: Date()), "created_at": time(c.createdAt),
         "expires_at": time(c.expiresAt), "revoked_at": time(c.revokedAt), "rotated_from": orNull(c.rotatedFrom)]
    }

    /// The secret, once, and where it goes: stdout (a script captures it); the warning to stderr.
    static func printIssued(_ issued: IssuedCredential, json: Bool) {
        let c = issued.credential
        if json {
            print(QueryOutput.text(["id": c.id, "secret": issued.secret, "role": c.role.rawValue,
                                    "expires_at": time(c.expiresAt)]), terminator: "")
        } else {
            print("id: \(c.id)")
            print("secret: \(issued.secret)")
        }
        printError("capreg token: the secret is shown this once; the registry keeps only its SHA-256")
    }
}

extension Role: ExpressibleByArgument {}

struct TokenIssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Make a credential and print its id and secret (once).",
        discussion: """
        A collector needs the host it may write: --host NAME (the report's host.hostname), --machine-id ID \
        (its host.machine_id), or both (both must match). --host-pattern P binds it to every hostname matching \
        P, where * stands for any run of characters: one secret for many hosts, so only when an admin means it. \
        Readers and admins are not bound.
        """
    )

    @Option(help: ArgumentHelp("What it may do: reader (every GET), collector (POST /v1/reports), admin (both).", valueName: "role"))
    var role: Role

    @Option(help: ArgumentHelp("The hostname a collector may write.", valueName: "hostname"))
    var host: String?

    @Option(help: ArgumentHelp("The machine-id a collector may write.", valueName: "machine-id"))
    var machineId: String?

    @Option(help: ArgumentHelp("Instead of --host: the hostnames a collector may write, * matching any run of characters.", valueName: "pattern"))
    var hostPattern: String?

    @Option(help: ArgumentHelp("Lifetime: a number and s, m, h or d.", valueName: "duration"))
    var expires = TokenCommand.defaultExpiry

    @Flag(help: "Print {\"id\", \"secret\", \"role\", \"expires_at\"} as JSON.")
    var json = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if host != nil && hostPattern != nil { throw ValidationError("give --host or --host-pattern, not both") }
        if role != .collector && (host != nil || machineId != nil || hostPattern != nil) {
            throw ValidationError("--host, --machine-id and --host-pattern bind collectors only; a \(role.rawValue) is not bound to a host")
        }
        if role == .collector && host == nil && machineId == nil && hostPattern == nil {
            throw ValidationError("a collector credential needs --host or --machine-id (the host it may write)")
        }
        _ = try TokenCommand.duration(expires, option: "--expires")
    }

    func run() throws {
        let registry = try TokenCommand.open(store, creating: true)
        let binding = role == .collector ? HostBinding(hostname: hostPattern ?? host, machineId: machineId, isPattern: hostPattern != nil) : nil
        let issued = try TokenCommand.refusing {
            try registry.issueCredential(role: role, binding: binding, expiresIn: try TokenCommand.duration(expires, option: "--expires"))
        }
        TokenCommand.printIssued(issued, json: json)
    }
}

struct TokenListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every credential with its role, binding and state; never a secret.")

    @Flag(help: "Print a JSON array.")
    var json = false

    @OptionGroup var store: StoreOptions

    func run() throws {
        let all = try TokenCommand.open(store).credentials()
        if json { print(QueryOutput.text(all.map(TokenCommand.object)), terminator: ""); return }
        let now = Date()
        print(["ID", "ROLE", "STATE", "EXPIRES", "BINDING"].joined(separator: "\t"))
        for c in all {
            print([c.id, c.role.rawValue, c.state(at: now), c.expiresAt.map(RFC3339.format) ?? "never",
                   c.binding?.description ?? "-"].joined(separator: "\t"))
        }
    }
}

struct TokenRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a credential or an unused enrollment code: a running capreg serve refuses it (401) within a second.")

    @Argument(help: ArgumentHelp("The credential's id (capreg token list) or the enrollment code's (capreg token codes).", valueName: "id"))
    var id: String

    @OptionGroup var store: StoreOptions

    func run() throws {
        let registry = try TokenCommand.open(store)
        if try registry.enrollmentCode(id: id) != nil { return try revokeCode(registry) }
        let (credential, now) = try TokenCommand.refusing {
            do { return try registry.revokeCredential(id: id) } catch CredentialError.unknown { throw CredentialError.unknownId(id) }
        }
        if now {
            print("revoked \(credential.id)")
        } else {
            print("\(credential.id) was already revoked at \(credential.revokedAt.map(RFC3339.format) ?? "?"); nothing written")
        }
    }

    func revokeCode(_ registry: Registry) throws {
        let (code, now) = try TokenCommand.refusing { try registry.revokeEnrollmentCode(id: id) }
        if now {
            print("revoked enrollment code \(code.id)")
        } else {
            print("enrollment code \(code.id) was already revoked at \(code.revokedAt.map(RFC3339.format) ?? "?"); nothing written")
        }
    }
}

struct TokenRotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Issue a successor (same role and host) and end the old credential after --overlap.",
        discussion: "Both secrets work during the overlap, so the host can be given the new one without a gap; the old one's "
            + "expiry is only ever shortened. A revoked or expired credential cannot be rotated (exit 65): issue a new one."
    )

    @Argument(help: ArgumentHelp("The credential's id (capreg token list).", valueName: "id"))
    var id: String

    @Option(help: ArgumentHelp("How long the old secret stays valid beside the new one.", valueName: "duration"))
    var overlap = "1h"

    @Option(help: ArgumentHelp("The new credential's lifetime.", valueName: "duration"))
    var expires = TokenCommand.defaultExpiry

    @Flag(help: "Print {\"id\", \"secret\", \"role\", \"expires_at\"} of the new credential as JSON.")
    var json = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        _ = try TokenCommand.duration(overlap, option: "--overlap")
        _ = try TokenCommand.duration(expires, option: "--expires")
    }

    func run() throws {
        let registry = try TokenCommand.open(store)
        let (old, new) = try TokenCommand.refusing {
            try registry.rotateCredential(id: id, overlap: try TokenCommand.duration(overlap, option: "--overlap"),
                                          expiresIn: try TokenCommand.duration(expires, option: "--expires"))
        }
        TokenCommand.printIssued(new, json: json)
        printError("capreg token: \(old.id) stays valid until \(old.expiresAt.map(RFC3339.format) ?? "?")")
    }
}

struct TokenEventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "What was done to credentials and enrollment codes (issue, rotate, revoke, enroll), oldest first.",
        discussion: "One line each: time, id, kind, detail. The id is the credential's, or for an event of a code not yet redeemed "
            + "the code's (code:ID); an enroll names the credential and, in its detail, the code it was redeemed from.")

    @Argument(help: ArgumentHelp("Only this credential's or enrollment code's events.", valueName: "id"))
    var id: String?

    @OptionGroup var store: StoreOptions

    func run() throws {
        for e in try TokenCommand.open(store).credentialEvents(id: id) {
            let subject = e.credential ?? "code:" + (e.enrollmentCode ?? "?")
            print([RFC3339.format(e.at), subject, e.kind, e.detail].joined(separator: "\t"))
        }
    }
}
