import Report

/// The agent's configuration file: `key = value` lines, `#` comments, blank lines ignored.
/// Every error names the file and line. Command-line options override the file.
///
///     registry = https://registry.example:8443
///     token_file = /etc/capreg/token
///     ca = /etc/capreg/ca.pem                 # https: the CA to trust instead of the system store
///     client_cert = /etc/capreg/host.pem      # mutual TLS: this host's certificate and key
///     client_key = /etc/capreg/host.key
///     spool = /var/spool/capreg
///     spool_max_bytes = 16777216
///     metrics_file = /var/lib/prometheus/node-exporter/capreg-collector.prom
///     interval = 3600
///     vfio_groups = all            # the default; or: 12 13, or none
///     iommufd_devices = all        # the default; or: vfio0 vfio1, or none
///     label.rack = r12
public struct CollectorConfig: Equatable, Sendable {
    public var registry: String?
    public var token: String?
    public var tokenFile: String?
    /// https: PEM files of the CA to trust, and of the host's client certificate and key (mutual TLS).
    public var ca: String?
    public var clientCert: String?
    public var clientKey: String?
    public var spool: String?
    public var spoolMaxBytes: Int?
    /// Prometheus text written after every delivery round (node_exporter's textfile collector).
    public var metricsFile: String?
    public var interval: Double?
    public var vfioGroups: Selection?
    public var iommufdDevices: Selection?
    public var sysfsRoot: String?
    public var hostname: String?
    public var labels: [String: String] = [:]
    public var nfdFeaturesDir: String?
    public var nfdExpiry: Double?

    public init() {}

    /// Which VFIO groups / device cdevs to probe: every one present, or the named ones (none: `.named([])`).
    public enum Selection: Equatable, Sendable {
        case all
        case named([String])

        /// `all`, `none`, or names separated by spaces or commas.
        public static func parse(_ text: String) -> Selection {
            let words = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
            if words == ["all"] { return .all }
            if words == ["none"] { return .named([]) }
            return .named(words)
        }

        /// nil means "every one present" to the sources.
        public var names: [String]? {
            if case .named(let n) = self { return n }
            return nil
        }
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    static let keys = ["registry", "token", "token_file", "ca", "client_cert", "client_key", "spool", "spool_max_bytes", "metrics_file", "interval", "vfio_groups",
                       "iommufd_devices", "sysfs_root", "hostname", "nfd_features_dir", "nfd_expiry"]

    public static func parse(_ text: String, file: String) throws(ParseError) -> CollectorConfig {
        var config = CollectorConfig()
        var seen: Set<String> = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            func fail(_ message: String) -> ParseError { ParseError(file: file, line: line, message: message) }
            var content = Substring(rawLine)
            if let hash = content.firstIndex(of: "#") { content = content[..<hash] }
            let trimmed = String(content).trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw fail("expected `key = value`, found `\(trimmed.prefix(60))`")
            }
            let key = String(trimmed[..<eq]).trimmingWhitespace()
            let value = String(trimmed[trimmed.index(after: eq)...]).trimmingWhitespace()
            guard !value.isEmpty else { throw fail("\(key): empty value") }
            guard seen.insert(key).inserted else { throw fail("\(key) given twice") }
            if key.hasPrefix("label.") {
                let name = String(key.dropFirst(6))
                // The registry's own rule (Report.labelProblem): key syntax and length, value length, no controls.
                if let problem = Report.labelProblem(key: name, value: value) { throw fail("label.\(name): \(problem)") }
                guard config.labels.count < Report.maxLabels else { throw fail("label.\(name): more than \(Report.maxLabels) labels") }
                config.labels[name] = value
                continue
            }
            switch key {
            case "registry":
                guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
                    throw fail("registry must be an https:// (or http://) URL, found `\(value.prefix(60))`")
                }
                config.registry = value
            case "token": config.token = value
            case "token_file": config.tokenFile = value
            case "ca": config.ca = value
            case "client_cert": config.clientCert = value
            case "client_key": config.clientKey = value
            case "spool": config.spool = value
            case "spool_max_bytes":
                guard let n = Int(value), n > 0 else { throw fail("spool_max_bytes must be a positive whole number of bytes, found `\(value)`") }
                config.spoolMaxBytes = n
            case "metrics_file": config.metricsFile = value
            case "interval":
                guard let n = Double(value), n >= 1 else { throw fail("interval must be a number of seconds ≥ 1, found `\(value)`") }
                config.interval = n
            case "vfio_groups":
                let s = Selection.parse(value)
                if case .named(let names) = s, let bad = names.first(where: { !$0.allSatisfy(\.isNumber) }) {
                    throw fail("vfio_groups: `\(bad)` is not a group number (or use `all`)")
                }
                config.vfioGroups = s
            case "iommufd_devices":
                let s = Selection.parse(value)
                if case .named(let names) = s, let bad = names.first(where: { $0.contains("/") }) {
                    throw fail("iommufd_devices: `\(bad)`: give cdev names such as vfio0 (or `all`)")
                }
                config.iommufdDevices = s
            case "sysfs_root": config.sysfsRoot = value
            case "hostname": config.hostname = value
            case "nfd_features_dir": config.nfdFeaturesDir = value
            case "nfd_expiry":
                guard let n = Double(value), n >= NFDFeatureFile.minimumExpiry else {
                    throw fail("nfd_expiry must be a number of seconds ≥ \(Int(NFDFeatureFile.minimumExpiry)), found `\(value)`")
                }
                config.nfdExpiry = n
            default:
                throw fail("unknown key `\(key)` (known: \(keys.joined(separator: ", ")), label.NAME)")
            }
        }
        return config
    }
}
