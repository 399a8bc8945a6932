import ArgumentParser
import Foundation
import Store
import StorePostgres
import StoreSQLite

/// Options every store-backed command shares.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Registry database: a SQLite file (created with its schema when absent; also sqlite:FILE) or a postgres:// URL without password (docs/postgres.md).",
                               valueName: "file|url"))
    var db = "./capreg.sqlite"

    @Option(help: ArgumentHelp("SQLite: normal: a power loss may drop the last commits; full: every acknowledged commit survives power loss. (PostgreSQL: its own synchronous_commit decides.)",
                               valueName: "normal|full"))
    var durability: Durability = .normal

    var location: StoreLocation {
        get throws { try StoreLocation(db, option: "--db") }
    }

    func open() throws -> Registry {
        try location.open(durability: durability)
    }
}

/// Where a registry is: a SQLite file, or a PostgreSQL database.
enum StoreLocation: CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    init(_ text: String, option: String) throws {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ValidationError("\(option) sqlite: needs a file, e.g. sqlite:./capreg.sqlite") }
            self = .sqlite(path: path)
        } else if text.contains("://") {
            throw ValidationError("\(option) \(text.prefix(40))…: a registry is a SQLite file or a postgres:// URL")
        } else {
            guard !text.isEmpty else { throw ValidationError("\(option) must name a SQLite file or a postgres:// URL") }
            self = .sqlite(path: text)
        }
    }

    /// Whether a registry may be there already: a SQLite file must exist (a mistyped path must not create
    /// an empty registry for commands that read one); a PostgreSQL server is asked when opened.
    var exists: Bool {
        switch self {
        case .sqlite(let path): return FileManager.default.fileExists(atPath: path)
        case .postgres: return true
        }
    }

    var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url): return url
        }
    }

    func open(durability: Durability) throws -> Registry {
        do {
            switch self {
            case .sqlite(let path):
                return try Registry.sqlite(path: path, durability: durability)
            case .postgres(let url):
                return Registry(try PostgresDatabase(url: url))
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("cannot open \(self): \(error)")
        }
    }
}

extension Durability: ExpressibleByArgument {}
