import ArgumentParser
import Store
import StoreSQLite

/// Options every store-backed command shares.
struct StoreOptions: ParsableArguments {
    @Option(help: "Registry database (created with its schema when absent).")
    var db = "./capreg.sqlite"

    @Option(help: ArgumentHelp("normal: a power loss may drop the last commits; full: every acknowledged commit survives power loss.",
                               valueName: "normal|full"))
    var durability: Durability = .normal

    func open() throws -> Registry {
        do {
            return Registry(try SQLiteDatabase(StoreConfig(path: db, durability: durability)))
        } catch {
            throw ValidationError("cannot open \(db): \(error)")
        }
    }
}

extension Durability: ExpressibleByArgument {}
