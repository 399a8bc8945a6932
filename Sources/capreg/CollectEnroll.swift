import ArgumentParser
import Collector
import Foundation

/// `capreg collect --enroll CODE`: this host's hostname and machine-id (as its reports carry them) go
/// with the code, and the credential the registry issues is kept in the spool directory.
extension CollectCommand {
    /// Exit status of a refused code (unknown, used, expired, revoked, or another host's): EX_NOPERM.
    static let enrollmentRefused: Int32 = 77

    func enrollHost(_ collector: Collector, code: String, file: CollectorConfig) throws {
        guard let server = server ?? file.registry else { throw ValidationError("--enroll needs --server URL (or registry in the config)") }
        let hostname: String
        do { hostname = try collector.identity() } catch {
            printError("capreg collect: \(error)")
            throw ExitCode(Agent.Status.noIdentity.rawValue)
        }
        let credential = CredentialFile(directory: spoolDirectory(file))
        switch Enrollment.enroll(code: code.trimmingCharacters(in: .whitespacesAndNewlines), server: server,
                                 tls: tls.resolved(ca: file.ca, clientCert: file.clientCert, clientKey: file.clientKey), hostname: hostname,
                                 machineId: HostIdentity.machineID(path: collector.options.machineIDPath), file: credential) {
        case .success(let enrolled):
            print("enrolled as \(hostname): credential \(enrolled.id)")
            printError("capreg collect: the credential is kept in \(credential.path) (mode 0600); it expires \(enrolled.expiresAt ?? "never")")
        case .failure(let failure):
            printError("capreg collect: \(failure)")
            switch failure {
            case .codeRefused, .hostMismatch: throw ExitCode(Self.enrollmentRefused)
            case .unavailable: throw ExitCode(75)
            case .refused: throw ExitCode(76)
            case .credentialFile: throw ExitCode(73)
            case .badURL: throw ExitCode(64)
            }
        }
    }
}
