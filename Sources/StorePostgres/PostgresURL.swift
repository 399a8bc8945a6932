import Foundation

/// Where and how to reach PostgreSQL, from `postgres://user@host[:port][,host2[:port]…]/dbname[?options]`.
/// Options: `sslmode=disable|require|verify-full` (default disable), `sslrootcert=PATH` (verify-full's
/// trust roots; default the system's), `connect_timeout=SECONDS` (default 10), `pool=N` (connections,
/// default 8). A password in the URL is refused: URLs end up on command lines and in process lists.
public struct PostgresURL: Sendable, Equatable {
    public struct Host: Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var port: Int
        public var description: String { (name.contains(":") ? "[\(name)]" : name) + ":\(port)" }
    }

    public enum SSLMode: String, Sendable, CaseIterable {
        case disable
        /// Encrypted, the server's certificate not checked (as libpq's require).
        case require
        /// Encrypted, the certificate checked against the trust roots and the host name.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var hosts: [Host]
    public var database: String
    public var sslMode: SSLMode = .disable
    public var sslRootCertificate: String?
    public var connectTimeoutSeconds: Int = 10
    public var poolSize: Int = 8
    /// The URL as given (it holds no password): for messages and `SQLDatabase.location`.
    public var location: String

    public static let defaultPort = 5432

    public init(_ text: String) throws {
        location = text
        var rest = Substring(text)
        guard let schemeEnd = rest.range(of: "://"), ["postgres", "postgresql"].contains(rest[..<schemeEnd.lowerBound]) else {
            throw PostgresURLError.malformed("it must start with postgres:// or postgresql://")
        }
        rest = rest[schemeEnd.upperBound...]
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        guard let at = rest.lastIndex(of: "@") else {
            throw PostgresURLError.malformed("it names no user (postgres://user@host/dbname)")
        }
        let userInfo = rest[..<at]
        if userInfo.contains(":") { throw PostgresURLError.passwordInURL }
        guard !userInfo.isEmpty, let user = userInfo.removingPercentEncoding else {
            throw PostgresURLError.malformed("it names no user (postgres://user@host/dbname)")
        }
        self.user = user
        hosts = try rest[rest.index(after: at)...].split(separator: ",", omittingEmptySubsequences: false).map(Self.host)
        guard let database = path.removingPercentEncoding, !database.isEmpty, !database.contains("/") else {
            throw PostgresURLError.malformed("it names no database (postgres://user@host/dbname)")
        }
        self.database = database
        try readOptions(query)
    }

    static func host(_ text: Substring) throws -> Host {
        var name = text, port = defaultPort
        if text.hasPrefix("[") {  // [IPv6]:port
            guard let close = text.firstIndex(of: "]") else { throw PostgresURLError.malformed("unclosed [ in host \(text)") }
            name = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { throw PostgresURLError.malformed("bad port in host \(text)") }
                port = p
            }
        } else if let colon = text.lastIndex(of: ":") {
            name = text[..<colon]
            guard let p = Int(text[text.index(after: colon)...]) else { throw PostgresURLError.malformed("bad port in host \(text)") }
            port = p
        }
        guard !name.isEmpty else { throw PostgresURLError.malformed("an empty host in the host list") }
        guard (1...65535).contains(port) else { throw PostgresURLError.malformed("port \(port) out of range") }
        return Host(name: String(name), port: port)
    }

    mutating func readOptions(_ query: Substring) throws {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? "") : ""
            switch key {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw PostgresURLError.malformed("sslmode=\(value): use one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                sslRootCertificate = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else { throw PostgresURLError.malformed("connect_timeout=\(value): a whole number of seconds above 0") }
                connectTimeoutSeconds = seconds
            case "pool":
                guard let size = Int(value), (1...1000).contains(size) else { throw PostgresURLError.malformed("pool=\(value): a number of connections from 1 to 1000") }
                poolSize = size
            case "password":
                throw PostgresURLError.passwordInURL
            default:
                throw PostgresURLError.malformed("unknown option \(key) (known: sslmode, sslrootcert, connect_timeout, pool)")
            }
        }
    }
}

public enum PostgresURLError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    /// `user:password@` or `?password=`: refused, never used.
    case passwordInURL
    /// CAPREG_DB_PASSWORD_FILE could not be read, or others may read it.
    case passwordFile(String)

    public var description: String {
        switch self {
        case .malformed(let why):
            return "database URL: \(why)"
        case .passwordInURL:
            return "database URL: the password field is refused (a URL ends up on command lines and in process lists); "
                + "give the password in the environment variable PGPASSWORD or in a file named by CAPREG_DB_PASSWORD_FILE"
        case .passwordFile(let why):
            return "CAPREG_DB_PASSWORD_FILE: \(why)"
        }
    }
}

/// The password, from the environment: the first line of the file CAPREG_DB_PASSWORD_FILE names (which
/// only its owner may read), else PGPASSWORD; nil when neither is set (trust or peer authentication).
enum PostgresPassword {
    static func resolve(_ environment: [String: String]) throws -> String? {
        if let path = environment["CAPREG_DB_PASSWORD_FILE"], !path.isEmpty {
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw PostgresURLError.passwordFile("\(path): \(String(cString: strerror(errno)))")
            }
            if info.st_mode & 0o077 != 0 {
                throw PostgresURLError.passwordFile("\(path) may be read by its group or by others (mode \(String(info.st_mode & 0o777, radix: 8))); "
                    + "chmod 600 it")
            }
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw PostgresURLError.passwordFile("\(path) cannot be read as UTF-8 text")
            }
            let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return String(line.hasSuffix("\r") ? line.dropLast() : line)
        }
        return environment["PGPASSWORD"]
    }
}
