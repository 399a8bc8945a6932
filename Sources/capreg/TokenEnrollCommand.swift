import API
import ArgumentParser
import Foundation
import Store
import Timestamps
#if canImport(Glibc)
import Glibc
#endif

/// `capreg token enroll`: a one-time code for a new host, which `capreg collect --enroll` trades for the
/// host's own collector credential.
struct TokenEnrollCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Make a one-time enrollment code for a new host and print it (once).",
        discussion: """
        The code is bound like a collector credential: --host NAME (the hostname the host reports), \
        --machine-id ID, or both. On the host, `capreg collect --enroll CODE --server URL` sends it with \
        the host's own hostname and machine-id; the registry then issues a collector credential bound to \
        this host (lifetime 90d), and the collector keeps its secret in its spool directory (mode 0600). \
        The code works once, until --expires (1h by default, 7d at most) or capreg token revoke ID; a used, \
        expired or revoked code is refused like an unknown one. A host claiming another name is refused \
        and the code stays usable. Refused attempts are counted in capreg token codes.
        """
    )

    @Option(help: ArgumentHelp("The hostname the new host reports.", valueName: "hostname"))
    var host: String?

    @Option(help: ArgumentHelp("The machine-id the new host reports.", valueName: "machine-id"))
    var machineId: String?

    @Option(help: ArgumentHelp("How long the code may wait to be used: a number and s, m, h or d; at most 7d.", valueName: "duration"))
    var expires = DurationText(seconds: EnrollmentCode.defaultLifetime).description

    @Flag(help: "Print {\"id\", \"code\", \"expires_at\"} as JSON.")
    var json = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if host == nil && machineId == nil { throw ValidationError("an enrollment code needs --host or --machine-id (the host that may use it)") }
        let seconds = try TokenCommand.duration(expires, option: "--expires")
        if seconds > EnrollmentCode.maxLifetime { throw ValidationError("--expires \(expires): an enrollment code lives at most 7d") }
    }

    func run() throws {
        let registry = try TokenCommand.open(store, creating: true)
        let issued = try TokenCommand.refusing {
            try registry.issueEnrollmentCode(binding: HostBinding(hostname: host, machineId: machineId),
                                             expiresIn: try TokenCommand.duration(expires, option: "--expires"), issuedBy: Self.issuer())
        }
        let expiresAt = RFC3339.format(issued.code.expiresAt)
        if json {
            print(QueryOutput.text(["id": issued.code.id, "code": issued.text, "expires_at": expiresAt]), terminator: "")
        } else {
            print("id: \(issued.code.id)")
            print("code: \(issued.text)")
            print("expires: \(expiresAt)")
        }
        printError("capreg token: the code is shown this once and works once; on the host: capreg collect --enroll CODE --server URL")
    }

    /// `user:NAME` of whoever runs this (the login of the real uid; under sudo, the invoking user too).
    static func issuer() -> String? {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return nil }
        let user = "user:" + String(cString: name)
        if let sudo = ProcessInfo.processInfo.environment["SUDO_USER"], !sudo.isEmpty, getuid() == 0 { return "\(user) (sudo by \(sudo))" }
        return user
    }
}

/// `capreg token codes`: every enrollment code and what became of it; never a code's text.
struct TokenCodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codes",
        abstract: "Every enrollment code with its host, state and refused attempts; never a code.",
        discussion: "STATE is unused, used (CREDENTIAL names what it became), expired or revoked. REFUSED counts redemptions "
            + "refused (used, expired, revoked, another host); --json adds the last one's time and reason, with the host that tried."
    )

    @Flag(help: "Print a JSON array.")
    var json = false

    @OptionGroup var store: StoreOptions

    func run() throws {
        let codes = try TokenCommand.open(store).enrollmentCodes()
        let now = Date()
        if json { print(QueryOutput.text(codes.map { Self.object($0, now) }), terminator: ""); return }
        print(["ID", "STATE", "EXPIRES", "BINDING", "CREDENTIAL", "REFUSED"].joined(separator: "\t"))
        for c in codes {
            print([c.id, c.state(at: now), RFC3339.format(c.expiresAt), c.binding.description, c.credential ?? "-", String(c.refusals)]
                .joined(separator: "\t"))
        }
    }

    static func object(_ c: EnrollmentCode, _ now: Date) -> [String: Any] {
        ["id": c.id, "hostname": TokenCommand.orNull(c.binding.hostname), "machine_id": TokenCommand.orNull(c.binding.machineId),
         "state": c.state(at: now), "created_at": TokenCommand.time(c.createdAt), "expires_at": TokenCommand.time(c.expiresAt),
         "used_at": TokenCommand.time(c.usedAt), "credential": TokenCommand.orNull(c.credential), "revoked_at": TokenCommand.time(c.revokedAt),
         "issued_by": TokenCommand.orNull(c.issuedBy), "refusals": c.refusals, "last_refused_at": TokenCommand.time(c.lastRefusedAt),
         "last_refusal": TokenCommand.orNull(c.lastRefusal)]
    }
}
