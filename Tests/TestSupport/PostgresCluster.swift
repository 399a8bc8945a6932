import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL for tests, through its command-line tools (no client library here).
///
/// `PostgresCluster.freshDatabase()` answers the URL of a new, empty database of its own for each test.
/// With CAPREG_TEST_POSTGRES_URL set, databases are created on that server; otherwise one cluster per
/// test process is made with `initdb` in a temporary folder on a free loopback port (trust
/// authentication, fsync off) when first needed, and stopped when the process exits. As root, the
/// tools run as the `postgres` user (initdb refuses root). Without PostgreSQL, tests skip
/// (`.enabled(if: PostgresCluster.usable, …)`), unless CAPREG_POSTGRES_REQUIRED=1 (CI): then they fail.
public final class PostgresCluster: @unchecked Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case unavailable(String)
        case command(String, Int32, String)

        public var description: String {
            switch self {
            case .unavailable(let why): return "no PostgreSQL for tests: \(why)"
            case .command(let what, let status, let output): return "\(what) exited \(status): \(output)"
            }
        }
    }

    // MARK: What is available

    public static var required: Bool { ProcessInfo.processInfo.environment["CAPREG_POSTGRES_REQUIRED"] == "1" }

    public static var configuredURL: String? {
        guard let url = ProcessInfo.processInfo.environment["CAPREG_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// The folder of initdb, pg_ctl and psql: Debian's (any version) or the one `initdb` on PATH is in.
    public static let binaries: String? = {
        var candidates: [String] = []
        if let versions = try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let initdb = URL(fileURLWithPath: String(folder)).appendingPathComponent("initdb")
            if FileManager.default.isExecutableFile(atPath: initdb.path) {
                candidates.append(initdb.resolvingSymlinksInPath().deletingLastPathComponent().path)
            }
        }
        return candidates.first { folder in
            ["initdb", "pg_ctl", "psql"].allSatisfy { FileManager.default.isExecutableFile(atPath: folder + "/" + $0) }
        }
    }()

    /// Whether tests can have a database (a configured server, or the tools to make a cluster).
    public static var available: Bool { configuredURL != nil || binaries != nil }

    /// For `.enabled(if:)`: run when PostgreSQL is available, or when it is required (and then fail).
    public static var usable: Bool {
        if !available && !required {
            print("note: PostgreSQL tests skipped: no initdb (apt-get install postgresql) and no CAPREG_TEST_POSTGRES_URL; "
                + "CI sets CAPREG_POSTGRES_REQUIRED=1 and fails instead")
        }
        return available || required
    }

    /// A new empty database on the test server: its URL (postgres://user@127.0.0.1:port/name).
    public static func freshDatabase() throws -> String {
        guard let url = configuredURL else { return try shared().freshDatabase() }
        let database = try createDatabase(serverURL: url, psql: configuredPSQL)
        counterLock.lock()
        if createdOnConfiguredServer.isEmpty { atexit { PostgresCluster.dropCreatedDatabases() } }
        createdOnConfiguredServer.append(String(database[database.index(after: database.lastIndex(of: "/")!)...].prefix { $0 != "?" }))
        counterLock.unlock()
        return database
    }

    /// psql, for the configured server (found by PATH when there is no Debian folder).
    private static var configuredPSQL: String { binaries.map { $0 + "/psql" } ?? "/usr/bin/psql" }

    /// Databases made on the configured server (which outlives the tests): dropped at exit.
    nonisolated(unsafe) private static var createdOnConfiguredServer: [String] = []

    private static func dropCreatedDatabases() {
        guard let url = configuredURL else { return }
        for name in createdOnConfiguredServer {
            _ = try? command([configuredPSQL, "-X", "-q", "-d", url, "-c", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"], what: "dropdb")
        }
    }

    /// The process's own cluster, made on first use; nil with CAPREG_TEST_POSTGRES_URL (a server that
    /// tests must not restart).
    public static func local() throws -> PostgresCluster? {
        configuredURL == nil ? try shared() : nil
    }

    private static let sharedCluster: Result<PostgresCluster, any Error> = {
        let made = Result { try PostgresCluster() }
        if case .success = made { atexit { PostgresCluster.stopShared() } }
        return made
    }()

    private static func shared() throws -> PostgresCluster { try sharedCluster.get() }

    private static func stopShared() {
        if case .success(let cluster) = sharedCluster { cluster.stop() }
    }

    // MARK: One cluster

    public let port: Int
    public let folder: URL
    let bin: String
    /// Run the tools as `postgres` (initdb and the server refuse root).
    let asPostgres: Bool
    private let lock = NSLock()
    private var databases = 0
    private var stopped = false

    /// The superuser URL of the cluster's `postgres` database.
    public var serverURL: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }
    var dataFolder: String { folder.appendingPathComponent("data").path }
    var logFile: String { folder.appendingPathComponent("server.log").path }

    /// A new cluster, started. Stop it with `stop()` (the shared one stops at exit).
    public convenience init() throws {
        guard let bin = PostgresCluster.binaries else {
            throw Failure.unavailable("no initdb, pg_ctl and psql (apt-get install postgresql)")
        }
        try self.init(bin: bin)
        try tool("initdb", ["-D", dataFolder, "--locale=C", "-E", "UTF8", "--auth=trust", "-U", "postgres", "--no-sync"])
        try start()
    }

    /// A folder (the tools' user owns it) and a port; no data yet.
    private init(bin: String) throws {
        self.bin = bin
        asPostgres = geteuid() == 0
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("capreg-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if asPostgres { try PostgresCluster.command(["/usr/bin/env", "chown", "postgres", folder.path], what: "chown") }
        port = try PostgresCluster.freePort()
    }

    /// A streaming standby of this cluster (pg_basebackup -R), started on a port of its own: read-only,
    /// pg_is_in_recovery() true. Stop it with `stop()`.
    public func standby() throws -> PostgresCluster {
        let standby = try PostgresCluster(bin: bin)
        try standby.tool("pg_basebackup", ["-D", standby.dataFolder, "-R", "-X", "stream", "-c", "fast", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres"])
        try standby.start()
        return standby
    }

    deinit { stop() }

    /// Starts the stopped server (waits until it accepts connections).
    public func start() throws {
        let options = "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(folder.path) -c fsync=off "
            + "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        try tool("pg_ctl", ["start", "-w", "-t", "60", "-D", dataFolder, "-l", logFile, "-o", options])
    }

    /// Stops the server at once (connections are cut, as in a crash of the clients' side).
    public func stopServer() throws {
        try tool("pg_ctl", ["stop", "-w", "-m", "fast", "-D", dataFolder])
    }

    /// Restarts the server: every open connection is cut.
    public func restart() throws {
        try stopServer()
        try start()
    }

    /// Stops the server and removes its folder.
    public func stop() {
        lock.lock()
        let already = stopped
        stopped = true
        lock.unlock()
        if already { return }
        _ = try? stopServer()
        try? FileManager.default.removeItem(at: folder)
    }

    public func freshDatabase() throws -> String {
        try PostgresCluster.createDatabase(serverURL: serverURL, psql: bin + "/psql")
    }

    /// Runs a psql command against `database` of this cluster; its output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try PostgresCluster.command([bin + "/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port),
                                     "-U", "postgres", "-d", database, "-c", sql], what: "psql")
    }

    private func tool(_ name: String, _ arguments: [String]) throws {
        try asClusterUser([bin + "/" + name] + arguments, what: name)
    }

    /// Runs `argv` as the user the server runs as, in the cluster's folder.
    private func asClusterUser(_ argv: [String], what: String) throws {
        try PostgresCluster.command(asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + argv : argv, what: what, in: folder)
    }

    /// Turns TLS on with a fresh self-signed certificate for 127.0.0.1 and localhost; answers the
    /// certificate's path (the trust root a client needs for verify-full).
    public func enableTLS() throws -> String {
        let certificate = folder.appendingPathComponent("server.crt").path, key = folder.appendingPathComponent("server.key").path
        try asClusterUser(["/usr/bin/env", "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                           "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                           "-keyout", key, "-out", certificate], what: "openssl")
        try psql("ALTER SYSTEM SET ssl = on")
        try psql("ALTER SYSTEM SET ssl_cert_file = '\(certificate)'")
        try psql("ALTER SYSTEM SET ssl_key_file = '\(key)'")
        try restart()
        return certificate
    }

    // MARK: Helpers

    private static let counterLock = NSLock()
    nonisolated(unsafe) private static var counter = 0

    /// CREATE DATABASE with a name unique to this process and call; the URL with its path replaced.
    static func createDatabase(serverURL: String, psql: String) throws -> String {
        counterLock.lock()
        counter += 1
        let name = "capreg_test_\(getpid())_\(counter)_\(UInt32.random(in: 0...UInt32.max))"
        counterLock.unlock()
        try command([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", serverURL, "-c", "CREATE DATABASE \(name)"], what: "createdb")
        return replacingDatabase(in: serverURL, with: name)
    }

    /// `url` (postgres://…/db?options) naming database `name` instead.
    public static func replacingDatabase(in url: String, with name: String) -> String {
        let schemeEnd = url.range(of: "://")?.upperBound ?? url.startIndex
        let query = url[schemeEnd...].firstIndex(of: "?")
        let authorityEnd = url[schemeEnd..<(query ?? url.endIndex)].firstIndex(of: "/") ?? query ?? url.endIndex
        return String(url[..<authorityEnd]) + "/" + name + (query.map { String(url[$0...]) } ?? "")
    }

    /// A loopback port nobody listens on right now.
    public static func freePort() throws -> Int {
        let listener = try LoopbackListener()
        defer { listener.close() }
        return Int(listener.port)
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34), which Swift's Glibc module does not show.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    nonisolated(unsafe) private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// The child closes every descriptor above 2 (other tests' sockets and pipes must not stay open in a
    /// server that outlives the command).
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom {
            _ = addCloseFrom(&actions, 3)
            return
        }
        // Older glibc: the descriptors open now (one opened meanwhile may leak into the child).
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap({ Int32($0) }) where fd > 2 && fcntl(fd, F_GETFD) & FD_CLOEXEC == 0 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }

    /// Runs `argv` (argv[0] a full path) and waits for it; its output (stdout and stderr) read from a
    /// file. Not Foundation's Process: it learns that a child ended from a socket the child inherits,
    /// and the server `pg_ctl start` leaves running would hold that socket open, so the wait would never
    /// end. Here the child gets no descriptor but its standard three, and waitpid says when it ends.
    @discardableResult
    static func command(_ argv: [String], what: String, in directory: URL? = nil) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("capreg-pg-out-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeInheritedDescriptors(&actions)
        let argv = directory.map { ["/usr/bin/env", "-C", $0.path] + argv } ?? argv
        let arguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, arguments, environ)
        guard spawned == 0 else { throw Failure.command(what, -1, "\(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exited normally with 0 (the low 7 bits are the signal, the next 8 the exit code).
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard code == 0 else { throw Failure.command(what, code, text) }
        return text
    }
}
