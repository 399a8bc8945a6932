import ArgumentParser
import RegistryClient

/// --ca, --client-cert, --client-key: how `collect`, `import-dmesg` and `query --server` reach an
/// https registry (nginx in front of capreg serve). One set of options for every command that talks to it.
struct TLSClientOptions: ParsableArguments {
    @Option(name: .customLong("ca"), help: "https: trust this CA (PEM) instead of the system's store.")
    var ca: String?

    @Option(name: .customLong("client-cert"), help: "https: present this client certificate (PEM; mutual TLS).")
    var clientCert: String?

    @Option(name: .customLong("client-key"), help: "https: the client certificate's private key (PEM).")
    var clientKey: String?

    /// These options, each falling back to the collector config's key of the same meaning.
    func resolved(ca fileCA: String? = nil, clientCert fileCert: String? = nil, clientKey fileKey: String? = nil) -> TLSOptions {
        TLSOptions(caFile: ca ?? fileCA, certificateFile: clientCert ?? fileCert, keyFile: clientKey ?? fileKey)
    }
}
