import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// One AsyncHTTPClient per TLS setting, for the life of the process, on one event-loop thread: the
/// collector and the CLI make a few requests at a time, and a kept client is what lets a drain of the
/// spool reuse one connection. Never shut down (the process ends first), so no client can be used
/// after its shutdown.
enum SharedClients {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var clients: [TLSOptions: HTTPClient] = [:]
    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Idle connections are closed after this: well below the registry's 30 s idle timeout and
    /// nginx's keepalive_timeout, so a request never goes out on a connection the server is closing.
    static let idleTimeout = TimeAmount.seconds(5)

    /// How long a request waits for a connection (new ones included: TCP, then the TLS handshake).
    static let connectionWait = TimeAmount.seconds(5)

    static func client(for tls: TLSOptions) throws -> HTTPClient {
        lock.lock()
        defer { lock.unlock() }
        if let client = clients[tls] { return client }
        var configuration = HTTPClient.Configuration(tlsConfiguration: try tlsConfiguration(tls),
                                                     redirectConfiguration: .disallow,
                                                     timeout: .init(connect: connectionWait, read: .seconds(60), write: .seconds(30)),
                                                     connectionPool: .init(idleTimeout: idleTimeout),
                                                     decompression: .disabled)
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        clients[tls] = client
        return client
    }

    /// TLS 1.2 or newer, full certificate and hostname verification; the CA file replaces the system
    /// store (a private fleet CA should not be trusted for the rest of the internet, nor the reverse).
    static func tlsConfiguration(_ tls: TLSOptions) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv12
        config.certificateVerification = .fullVerification
        do {
            if let ca = tls.caFile { config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            if let cert = tls.certificateFile, let key = tls.keyFile {
                config.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                config.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
        } catch {
            throw APIClient.ClientError(description: "cannot load TLS files (\(tls.caFile ?? "-"), \(tls.certificateFile ?? "-")): \(error)")
        }
        return config
    }
}
