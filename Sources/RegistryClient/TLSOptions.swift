import Foundation

/// How an https client proves the server and itself: the CA to trust (default: the system's store),
/// and optionally a client certificate and key for mutual TLS (deploy/nginx/capreg-mtls.conf, where
/// the certificate's CN is the host's identity). Paths to PEM files.
public struct TLSOptions: Sendable, Hashable {
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    var isEmpty: Bool { caFile == nil && certificateFile == nil && keyFile == nil }

    /// Fails naming the option when a file is missing or a certificate comes without its key.
    func check() throws {
        if (certificateFile == nil) != (keyFile == nil) {
            throw APIClient.ClientError(description: "--client-cert and --client-key go together")
        }
        for (option, path) in [("--ca", caFile), ("--client-cert", certificateFile), ("--client-key", keyFile)] {
            guard let path else { continue }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw APIClient.ClientError(description: "\(option) \(path): no such readable file")
            }
        }
    }
}
