import Foundation
import Report
import Server
import Store
import Timestamps

/// POST /v1/enroll: a new host trades a one-time enrollment code (`capreg token enroll`) for its own
/// collector credential. No Authorization: the code is the credential. The code has 256 random bits, so
/// guessing is hopeless and there is no rate limit beyond the server's connection shares; bodies are kept
/// small (`maxBodyBytes`, refused on the head) so that an unauthenticated caller costs little.
extension API {
    /// `{"code", "hostname", "machine_id"}` with room to spare: a code is 95 bytes, a hostname at most 253.
    static let maxEnrollBodyBytes = 4096

    /// The request's claim: the code and the host it is redeemed for (the collector's own hostname and machine-id).
    struct EnrollRequest {
        var code: String
        var hostname: String
        var machineId: String?
    }

    func enroll(_ request: HTTPRequest) throws -> HTTPResponse {
        let claim: EnrollRequest
        do {
            _ = try Parameters(request, allowed: [])
            claim = try Self.parseEnrollRequest(request.body)
        } catch {
            metrics.countEnrollment("bad_request")
            throw error
        }
        let outcome: Result<IssuedCredential, EnrollmentRefusal>
        do {
            outcome = try registry.redeemEnrollmentCode(claim.code, hostname: claim.hostname, machineId: claim.machineId)
        } catch {
            // The transaction rolled back (the code is unused); the store's words are for the operator only.
            log("enrollment: the code could not be redeemed: \(StoreErrorText.summary(error))")
            throw APIError(.serviceUnavailable, "enrollment_unavailable", "the registry could not redeem the code now; retry",
                           headers: [("Retry-After", "1")])
        }
        switch outcome {
        case .success(let issued):
            metrics.countEnrollment("enrolled")
            let c = issued.credential
            return .json(.object([
                ("id", .string(c.id)),
                ("secret", .string(issued.secret)),
                ("role", .string(c.role.rawValue)),
                ("hostname", .optional(c.binding?.hostname)),
                ("machine_id", .optional(c.binding?.machineId)),
                ("expires_at", .optional(c.expiresAt.map(RFC3339.format))),
            ]), status: .created)
        case .failure(let refusal):
            metrics.countEnrollment(refusal.outcome)
            throw Self.enrollRefusal(refusal)
        }
    }

    /// Unknown, used, expired and revoked alike answer 401 `invalid_enrollment_code`: saying which would tell
    /// whoever holds a stolen code whether it once worked. A valid code claimed for another host answers 403
    /// without naming the host the code is for (its holder would only have to claim that one).
    static func enrollRefusal(_ refusal: EnrollmentRefusal) -> APIError {
        if case .hostMismatch = refusal {
            return APIError(.forbidden, "host_mismatch",
                            "the enrollment code is bound to another host than the hostname and machine_id claimed; the code was not used")
        }
        return APIError(.unauthorized, "invalid_enrollment_code", "the enrollment code is not valid (unknown, used or expired); ask an admin for a new one",
                        headers: [("WWW-Authenticate", "EnrollmentCode realm=\"capreg\"")])
    }

    /// The body: a JSON object with `code` and `hostname` (strings) and optionally `machine_id` (a string or
    /// null), nothing else. Each refusal is a 400 naming the field (`details.field`).
    static func parseEnrollRequest(_ body: [UInt8]) throws(APIError) -> EnrollRequest {
        func refuse(_ field: String?, _ message: String) -> APIError {
            APIError(.badRequest, "invalid_enrollment_request", (field.map { "\($0): " } ?? "") + message,
                     details: field.map { [("field", .string($0))] } ?? [])
        }
        guard body.count <= maxEnrollBodyBytes else { throw refuse(nil, "the body has \(body.count) bytes; at most \(maxEnrollBodyBytes)") }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw refuse(nil, "expected a JSON object {\"code\", \"hostname\", \"machine_id\"}")
        }
        if let unknown = object.keys.sorted().first(where: { !["code", "hostname", "machine_id"].contains($0) }) {
            throw refuse(String(unknown.prefix(100)), "unknown field; expected code, hostname and machine_id")
        }
        func string(_ field: String) throws(APIError) -> String? {
            switch object[field] {
            case nil, is NSNull: return nil
            case let text as String: return text
            default: throw refuse(field, "expected a string")
            }
        }
        guard let code = try string("code"), !code.isEmpty else { throw refuse("code", "required: the enrollment code (capreg token enroll)") }
        guard let hostname = try string("hostname") else { throw refuse("hostname", "required: this host's name, as its reports carry it") }
        // The report decoder's own rules, so a host enrolls under exactly the name its reports may carry.
        if let problem = Report.hostnameProblem(hostname) { throw refuse("hostname", problem) }
        let machineId = try string("machine_id")
        if let machineId, let problem = Report.identifierProblem(machineId) { throw refuse("machine_id", problem) }
        return EnrollRequest(code: code, hostname: hostname, machineId: machineId)
    }
}
