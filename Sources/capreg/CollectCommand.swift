import ArgumentParser
import Collector
import Foundation
import RegistryClient
import Report
import Timestamps

struct CollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Collect this host's IOMMU capabilities into a report; print it, or push it to the registry.",
        discussion: """
        Sources: every unit under SYSFS/class/iommu (Intel and AMD register files), every VFIO group \
        (container, nesting type tried then type1v2, VFIO_IOMMU_GET_INFO) and every vfio device cdev \
        (IOMMU_GET_HW_INFO, then IOMMU_HWPT_ALLOC plain / nest parent / dirty tracking / PASID on a private \
        IOAS, vIOMMU and vDevice where allowed, each freed at once), plus the iommufd command numbers the \
        kernel knows. Each question and the kernel's answer (ok or the errno) goes into the report as a \
        `probe` source: the registry's usable facts come from these answers only. --vfio-group and \
        --iommufd-device (or vfio_groups / iommufd_devices) name which to read; `none` or --no-probes \
        reads sysfs only. A device a VM holds answers EBUSY and is not touched; an idle vfio device of the \
        same IOMMU unit is asked instead. A source that is missing or not permitted is in the report as \
        unavailable with its errno name. Device bindings are never changed.

        Without --push the report is printed (one line of JSON; --pretty for people).

        With --push URL (or the config's registry) the report is first written durably to the spool \
        (--spool DIR), then sent; it leaves the spool only after a 2xx. Failed sends are retried with \
        exponential backoff and jitter. The spool is bounded (--spool-max-bytes): a report that does \
        not fit is not spooled and this is logged as an ERROR, never silent. With --interval the agent \
        runs until SIGTERM, collecting every interval (±10% jitter); a report whose content did not \
        change goes out as a heartbeat (same sources, no `decoded`, new id: the registry records it as \
        unchanged and moves last-seen). Otherwise it runs once (--once) and exits.

        Exit status: 0 done (with --push: the spool is empty); 75 reports are waiting in the spool; \
        76 the registry refused a report (kept in DIR/rejected/); 73 this report could not be \
        spooled (spool full or not writable) and is lost; 68 no usable host identity (below), no \
        report was made; 78 the config file does not parse (file:line is printed); 66 a file cannot \
        be read; 64 usage.

        Refused reports: a 400, 413, 415 or 422 means the registry will never take that report. It moves \
        to DIR/rejected/ with the registry's status and message beside it (NAME.why, JSON), is never \
        sent again and never holds up the reports behind it. --status prints the spool: reports \
        waiting (name, bytes), reports rejected (name, when, status and message), and the totals \
        delivered and rejected since the spool was made; it exits 76 when rejected/ holds a report, \
        75 when reports wait, 0 otherwise (66: no spool directory). Remove a file from rejected/ (and \
        its .why) once it is dealt with.

        Metrics: with --metrics-file PATH (config metrics_file) the agent writes Prometheus text after \
        every delivery round, as node_exporter's textfile collector wants it (a temporary file in the \
        same directory, then rename; name it *.prom): capreg_collector_reports_delivered_total and \
        capreg_collector_reports_rejected_total (counters kept in DIR/delivery-totals, so they survive \
        restarts and --once runs), capreg_collector_rejected_reports (in rejected/ now), \
        capreg_collector_spool_reports and capreg_collector_spool_bytes (waiting), and \
        capreg_collector_last_delivery_timestamp_seconds (0 before the first). A file that cannot be \
        written is logged as a WARN; delivery goes on.

        Kubernetes: with --nfd-features-dir DIR (config nfd_features_dir; Node Feature Discovery's \
        features.d, /etc/kubernetes/node-feature-discovery/features.d on the node) every collection \
        rewrites DIR/capreg, a feature file of NFD's local source: one \
        feature.node.kubernetes.io/capreg-NAME=VALUE line a fact (the registry's decoders, run here), \
        after `# +expiry-time=`, the collection time plus --nfd-expiry seconds (config nfd_expiry; \
        default 7200, the registry's default freshness bound), so NFD drops the node's labels once the \
        collector stops. Facts whose name or value a Kubernetes label cannot carry are left out and \
        counted in the log. It is written as a dot file (which NFD skips), synced and renamed, and stays \
        under NFD's 64 KiB; a file that cannot be written is logged as a WARN and collection goes on. \
        Without --push the file is written once, beside the printed report.

        Enrollment: --enroll CODE --server URL trades a one-time code from `capreg token enroll` for this \
        host's own collector credential (POST /v1/enroll with this host's hostname, as below, and its \
        /etc/machine-id) and keeps the secret in DIR/credential (mode 0600, replacing an earlier one; DIR \
        must not be writable by others), then exits; nothing is collected. Later runs use DIR/credential as their token when \
        neither --token, --token-file nor the config gives one. Exit status: 0 enrolled (the credential's \
        id is printed); 77 the code was refused: unknown, used, expired or revoked (the registry does not \
        say which: ask for a new code), or it is for another host (the code stays usable by the right \
        one); 75 the registry did not answer or was busy (the code is still unused: run again); 76 the \
        registry refused the request otherwise; 73 DIR cannot keep the credential; 68 no usable host identity.

        Host identity: --hostname, else the config's hostname, else the system hostname. Empty, \
        localhost, localhost.localdomain, localhost4/6(.localdomain4/6), ip6-localhost, ip6-loopback \
        and (none) (any case, trailing dot ignored) name many machines at once: the collector refuses \
        them (exit 68; a daemon logs an ERROR and skips that round) and never reports under a \
        stand-in such as the machine id. The registry refuses the same names (400, host.hostname).
        """
    )

    @Option(help: "Configuration file (key = value lines; see collector/capreg-collector.conf).")
    var config: String?

    @Option(name: .customLong("sysfs-root"), help: "Read sysfs from this directory instead of /sys (a captured tree).")
    var sysfsRoot: String?

    @Option(name: .customLong("dev-root"), help: ArgumentHelp("Device directory.", visibility: .hidden))
    var devRoot = "/dev"

    @Option(name: .customLong("vfio-group"), help: "VFIO group number to probe, `all` (default) or `none` (repeatable).")
    var vfioGroups: [String] = []

    @Option(name: .customLong("iommufd-device"), help: "vfio device cdev (vfio0, …) to probe through iommufd, `all` (default) or `none` (repeatable).")
    var iommufdDevices: [String] = []

    @Flag(name: .customLong("no-probes"), help: "Read sysfs only: no VFIO group, no /dev/iommu, no device is opened.")
    var noProbes = false

    @Option(help: "Report under this hostname instead of the system's (not localhost or another shared name: exit 68).")
    var hostname: String?

    @Option(name: .customLong("label"), help: "Label KEY=VALUE added to the host (repeatable).")
    var labels: [String] = []

    @Flag(help: "Pretty-print the report.")
    var pretty = false

    @Option(help: "Registry URL to push to (https://HOST:PORT or http://; the path defaults to /v1/reports).")
    var push: String?

    @OptionGroup var tls: TLSClientOptions

    @Option(help: "Bearer token for the registry (default: the credential kept by --enroll in the spool directory).")
    var token: String?

    @Option(name: .customLong("token-file"), help: "File holding the bearer token.")
    var tokenFile: String?

    @Option(help: ArgumentHelp("Trade this one-time enrollment code (capreg token enroll) for this host's credential, kept in the spool directory, and exit.",
                               valueName: "code"))
    var enroll: String?

    @Option(help: ArgumentHelp("With --enroll: the registry (https://HOST:PORT; default: the config's registry).", valueName: "url"))
    var server: String?

    @Option(help: "Spool directory (default /var/spool/capreg).")
    var spool: String?

    @Option(name: .customLong("spool-max-bytes"), help: "Most bytes the spool may hold (default 16 MiB).")
    var spoolMaxBytes: Int?

    @Flag(help: "Collect and deliver once, then exit (the default with --push unless --interval).")
    var once = false

    @Option(help: "Run as a daemon, collecting every SECONDS (jittered ±10%).")
    var interval: Double?

    @Option(help: "With --once: consecutive failed sends before giving up (the report stays spooled).")
    var attempts = 4

    @Flag(help: "Print the spool's waiting and rejected reports (with the registry's reasons) and exit 0, 75 or 76.")
    var status = false

    @Option(name: .customLong("metrics-file"), help: "Write Prometheus metrics here after every delivery round (for node_exporter's textfile collector).")
    var metricsFile: String?

    @Option(name: .customLong("nfd-features-dir"), help: ArgumentHelp("Rewrite DIR/capreg, a Node Feature Discovery feature file, at every collection.",
                                                                       valueName: "dir"))
    var nfdFeaturesDir: String?

    @Option(name: .customLong("nfd-expiry"), help: ArgumentHelp("Seconds NFD keeps the labels after a collection (default 7200).", valueName: "seconds"))
    var nfdExpiry: Double?

    @Option(name: .customLong("backoff-base"), help: ArgumentHelp("First retry delay in seconds (doubles, jittered).", visibility: .hidden))
    var backoffBase = 1.0

    @Option(name: .customLong("backoff-cap"), help: ArgumentHelp("Longest retry delay in seconds.", visibility: .hidden))
    var backoffCap = 300.0

    func validate() throws {
        if once && interval != nil { throw ValidationError("--once and --interval exclude each other") }
        if let interval, interval < 1 { throw ValidationError("--interval must be at least 1 second") }
        if attempts < 1 { throw ValidationError("--attempts must be at least 1") }
        if status && (once || interval != nil || push != nil || metricsFile != nil) {
            throw ValidationError("--status only reads the spool: it excludes --push, --once, --interval and --metrics-file")
        }
        if noProbes && !(vfioGroups.isEmpty && iommufdDevices.isEmpty) {
            throw ValidationError("--no-probes excludes --vfio-group and --iommufd-device")
        }
        if enroll != nil && (status || once || interval != nil || push != nil || token != nil || tokenFile != nil || metricsFile != nil) {
            throw ValidationError("--enroll only enrolls this host: it excludes --status, --once, --interval, --push, --token, --token-file and --metrics-file")
        }
        if server != nil && enroll == nil { throw ValidationError("--server is for --enroll; a push goes to --push URL") }
        if let nfdExpiry, nfdExpiry < NFDFeatureFile.minimumExpiry {
            throw ValidationError("--nfd-expiry must be at least \(Int(NFDFeatureFile.minimumExpiry)) seconds")
        }
        if (status || enroll != nil) && (nfdFeaturesDir != nil || nfdExpiry != nil) {
            throw ValidationError("--nfd-features-dir and --nfd-expiry go with a collection: they exclude --status and --enroll")
        }
    }

    /// The NFD feature file to write, if any. Its labels must outlive the interval between collections, or
    /// nodes would lose them between rounds.
    func featureFile(_ file: CollectorConfig, interval: Double?) throws -> NFDFeatureFile? {
        guard let directory = nfdFeaturesDir ?? file.nfdFeaturesDir else { return nil }
        let expiry = nfdExpiry ?? file.nfdExpiry ?? NFDFeatureFile.defaultExpiry
        if let interval, expiry <= interval * 1.1 {
            throw ValidationError("--nfd-expiry (\(Int(expiry)) s) must be longer than the collection interval (\(Int(interval)) s, ±10%), "
                                  + "or the node's labels expire between collections")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--nfd-features-dir: \(directory) is not a directory")
        }
        return NFDFeatureFile(directory: directory, expiry: expiry)
    }

    func run() throws {
        let file = try loadConfig()
        if status { return try showStatus(file) }
        let options = try collectorOptions(file)
        let collector = Collector(options: options)
        if let enroll { return try enrollHost(collector, code: enroll, file: file) }
        let url = push ?? file.registry
        if url == nil && (once || interval != nil) { throw ValidationError("--once and --interval need --push URL (or registry in the config)") }
        // Before anything is spooled or sent: a host without a usable name makes no report.
        do { _ = try collector.identity() } catch {
            printError("capreg collect: \(error)")
            throw ExitCode(Agent.Status.noIdentity.rawValue)
        }
        if let url {
            try deliver(collector, url: url, file: file)
            return
        }
        let nfd = try featureFile(file, interval: nil)
        let report: Report
        do { report = try collector.collect() } catch {
            printError("capreg collect: \(error)")
            throw ExitCode(Agent.Status.noIdentity.rawValue)
        }
        if let nfd {
            do { try nfd.write(report) } catch {
                printError("capreg collect: \(error)")
                throw ExitCode(73)
            }
        }
        let encoder = Report.encoder
        if pretty { encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] }
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }

    /// The spool directory, which also keeps the credential --enroll got.
    func spoolDirectory(_ file: CollectorConfig) -> String { spool ?? file.spool ?? "/var/spool/capreg" }

    /// The token: --token, --token-file, the config's, else the credential an enrollment kept in the spool directory.
    func secret(_ file: CollectorConfig) throws -> String? {
        if let path = tokenFile ?? file.tokenFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                printError("capreg collect: cannot read the token file \(path)")
                throw ExitCode(66)
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let given = token ?? file.token { return given }
        switch CredentialFile(directory: spoolDirectory(file)).read() {
        case .success(let kept):
            if let warning = kept?.warning { printError("capreg collect: WARN \(warning)") }
            return kept?.secret
        case .failure(let failure):
            printError("capreg collect: \(failure)")
            throw ExitCode(66)
        }
    }

    func deliver(_ collector: Collector, url: String, file: CollectorConfig) throws {
        let secret = try secret(file)
        let client: APIClient
        do {
            client = try APIClient(baseURL: url, token: secret,
                                   tls: tls.resolved(ca: file.ca, clientCert: file.clientCert, clientKey: file.clientKey))
        } catch { throw ValidationError("--push: \(error)") }
        let spoolDir = spoolDirectory(file)
        let store: Spool
        do { store = try Spool(directory: spoolDir, maxBytes: spoolMaxBytes ?? file.spoolMaxBytes ?? 16 << 20) } catch {
            printError("capreg collect: \(error)")
            throw ExitCode(73)
        }
        let log: @Sendable (String) -> Void = { message in
            let stamp = RFC3339.format(Date())
            FileHandle.standardError.write(Data("\(stamp) capreg-collector \(message)\n".utf8))
        }
        let stop = StopFlag.process
        let delivery = Delivery(spool: store, client: client, backoff: Backoff(base: backoffBase, cap: backoffCap), log: log,
                                sleep: { seconds in
                                    let end = Date().addingTimeInterval(seconds)
                                    while !stop.isSet && Date() < end { Thread.sleep(forTimeInterval: min(0.1, max(0, end.timeIntervalSinceNow))) }
                                },
                                shouldStop: { stop.isSet })
        let every = interval ?? (once ? nil : file.interval)
        let agent = Agent(collector: collector, delivery: delivery, log: log, metricsFile: metricsFile ?? file.metricsFile,
                          nfd: try featureFile(file, interval: every))
        StopFlag.stopOnSignals()
        if let every {
            agent.run(interval: every, stop: stop)
            return
        }
        let status = agent.once(maxFailures: attempts)
        if status != .delivered { throw ExitCode(status.rawValue) }
    }

    func loadConfig() throws -> CollectorConfig {
        guard let config else { return CollectorConfig() }
        guard let data = FileManager.default.contents(atPath: config) else {
            printError("capreg collect: cannot read \(config)")
            throw ExitCode(66)
        }
        do {
            return try CollectorConfig.parse(String(decoding: data, as: UTF8.self), file: config)
        } catch {
            printError("capreg collect: \(error)")
            throw ExitCode(78)
        }
    }

    func collectorOptions(_ file: CollectorConfig) throws -> Collector.Options {
        var o = Collector.Options()
        o.sysfsRoot = sysfsRoot ?? file.sysfsRoot ?? "/sys"
        o.devRoot = devRoot
        // Probing is the default: the usable facts exist only where the kernel was asked.
        o.vfioGroups = noProbes ? .named([]) : vfioGroups.isEmpty ? (file.vfioGroups ?? .all) : .parse(vfioGroups.joined(separator: " "))
        o.iommufdDevices = noProbes ? .named([]) : iommufdDevices.isEmpty ? (file.iommufdDevices ?? .all)
            : .parse(iommufdDevices.joined(separator: " "))
        o.hostname = hostname ?? file.hostname
        o.labels = file.labels
        for label in labels {
            guard let eq = label.firstIndex(of: "="), eq != label.startIndex else {
                throw ValidationError("--label wants KEY=VALUE, found `\(label)`")
            }
            let key = String(label[..<eq]), value = String(label[label.index(after: eq)...])
            // The registry's own rule (Report.labelProblem), so a label it would refuse never leaves the host.
            if let problem = Report.labelProblem(key: key, value: value) { throw ValidationError("--label \(key): \(problem)") }
            o.labels[key] = value
        }
        if o.labels.count > Report.maxLabels {
            throw ValidationError("--label: \(o.labels.count) labels with the configuration file's; at most \(Report.maxLabels)")
        }
        return o
    }
}
