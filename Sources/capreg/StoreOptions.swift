import ArgumentParser
import Store

/// Options every store-backed command shares.
struct StoreOptions: ParsableArguments {
    @Option(help: "Registry database (created with its schema when absent).")
    var db = "./capreg.sqlite"

    @Option(help: ArgumentHelp("normal: a power loss may drop the last commits; full: every acknowledged commit survives power loss.",
                               valueName: "normal|full"))
    var durability: Durability = .normal

    func open() throws -> SQLiteStore {
        do {
            return try SQLiteStore(path: db, durability: durability)
        } catch {
            throw ValidationError("cannot open \(db): \(error)")
        }
    }
}

extension Durability: ExpressibleByArgument {}
