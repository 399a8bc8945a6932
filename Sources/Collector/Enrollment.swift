import Foundation
import RegistryClient

/// `capreg collect --enroll CODE`: trades a one-time enrollment code for this host's collector credential
/// (POST /v1/enroll) and keeps its secret in the spool directory (CredentialFile).
public enum Enrollment {
    public struct Enrolled: Sendable, Equatable {
        public var id: String
        public var secret: String
        public var expiresAt: String?
    }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// --server is not an http(s):// URL, or its TLS files are unusable: nothing was sent.
        case badURL(String)
        /// 401: unknown, used, expired or revoked (the registry does not say which).
        case codeRefused(String)
        /// 403: the code is for another host; it is still unused.
        case hostMismatch(String)
        /// Another 4xx, or an answer that is not what a registry sends: retrying will not help.
        case refused(status: Int, message: String)
        /// Unreachable, 5xx, 429: the code is still unused; try again.
        case unavailable(String)
        /// The credential cannot be kept. `issued`: the code was used and this credential exists without
        /// its secret anywhere (revoke it); nil: nothing was sent.
        case credentialFile(String, issued: String?)

        public var description: String {
            switch self {
            case .badURL(let m): return "--server: \(m)"
            case .codeRefused(let m): return "the registry refused the enrollment code (unknown, used, expired or revoked): \(m)"
            case .hostMismatch(let m): return "the enrollment code is for another host than this one: \(m)"
            case .refused(let status, let m): return "the registry refused the enrollment (\(status)): \(m)"
            case .unavailable(let m): return "enrollment not done, the code is still unused; try again: \(m)"
            case .credentialFile(let m, nil): return "cannot keep the credential, nothing was sent: \(m)"
            case .credentialFile(let m, let id?):
                return "the code was used, but credential \(id) could not be kept: \(m); revoke it (capreg token revoke \(id)) and issue a new code"
            }
        }
    }

    /// Prepares the credential file (so an unusable directory is found before the code is spent), sends the
    /// code with this host's identity, and keeps the secret it gets.
    public static func enroll(code: String, server: String, tls: TLSOptions = TLSOptions(), hostname: String, machineId: String?,
                              file: CredentialFile) -> Result<Enrolled, Failure> {
        let pending: CredentialFile.Pending
        switch file.prepare() {
        case .success(let p): pending = p
        case .failure(let f): return .failure(.credentialFile(f.description, issued: nil))
        }
        var object: [String: Any] = ["code": code, "hostname": hostname]
        if let machineId { object["machine_id"] = machineId }
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { [UInt8]($0) } ?? []
        let answer = post(body, server: server, tls: tls).flatMap(interpret)
        guard case .success(let enrolled) = answer else {
            pending.discard()
            return answer
        }
        if case .failure(let f) = pending.commit(enrolled.secret) { return .failure(.credentialFile(f.description, issued: enrolled.id)) }
        return .success(enrolled)
    }

    /// The one HTTP exchange: POST `body` to SERVER/v1/enroll (the path of `server` is ignored), no token.
    static func post(_ body: [UInt8], server: String, tls: TLSOptions) -> Result<APIClient.Response, Failure> {
        let client: APIClient
        do { client = try APIClient(baseURL: server, token: nil, tls: tls) } catch { return .failure(.badURL("\(error)")) }
        return client.post("/v1/enroll", body).mapError { .unavailable($0.description) }
    }

    /// The registry's answer as an enrollment or a failure, by status.
    static func interpret(_ response: APIClient.Response) -> Result<Enrolled, Failure> {
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? String(response.text.prefix(300))
        switch response.status {
        case 201:
            guard let id = object?["id"] as? String, let secret = object?["secret"] as? String, !secret.isEmpty else {
                return .failure(.refused(status: 201, message: "the answer has no id and secret: \(response.text.prefix(300))"))
            }
            return .success(Enrolled(id: id, secret: secret, expiresAt: object?["expires_at"] as? String))
        case 401: return .failure(.codeRefused(message))
        case 403: return .failure(.hostMismatch(message))
        case 429, 500...599: return .failure(.unavailable("\(response.status): \(message)"))
        default: return .failure(.refused(status: response.status, message: message))
        }
    }
}
