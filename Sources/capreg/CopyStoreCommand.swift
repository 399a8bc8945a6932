import ArgumentParser
import Foundation
import Store

struct CopyStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-store",
        abstract: "Copy a whole registry, with its history, to another database (SQLite to PostgreSQL, or back).",
        discussion: """
        Every table is copied row for row (ids, revisions, raw bytes, credentials' digests, the append-only \
        records), then verified: each table's row count and a SHA-256 over its rows, read on both sides, \
        must agree. The source is read in one transaction, so the copy is of one consistent state even \
        while a server writes to it; writes after that state are not copied (stop writers first, or copy \
        again into a new database).

        Resumable: each batch commits on its own, and a run starts each table after the last row the \
        destination holds, so an interrupted copy is finished by running the same command again. The \
        destination must be empty or an earlier copy of the same source; anything else is refused.

        Locations: a SQLite file (FILE or sqlite:FILE) or postgres://USER@HOST[:PORT]/DB (password from \
        PGPASSWORD or CAPREG_DB_PASSWORD_FILE).

        Exit status: 0 copied and verified; 65 the destination holds another registry's rows, or a table \
        differs after the copy; 66 no source; 64 usage.
        """
    )

    @Option(help: ArgumentHelp("The registry to copy.", valueName: "file|url"))
    var from: String

    @Option(help: ArgumentHelp("Where to copy it (created with its schema when absent).", valueName: "file|url"))
    var to: String

    @Option(help: "Rows per committed batch (1…100000).")
    var batch = 2000

    func validate() throws {
        _ = try StoreLocation(from, option: "--from")
        _ = try StoreLocation(to, option: "--to")
        if !(1...100_000).contains(batch) { throw ValidationError("--batch must be within 1…100000") }
        if from == to { throw ValidationError("--from and --to are the same registry") }
    }

    func run() throws {
        let source = try StoreLocation(from, option: "--from")
        guard source.exists else {
            printError("capreg copy-store: no registry database at \(source) (--from)")
            throw ExitCode(66)
        }
        let destination = try StoreLocation(to, option: "--to")
        let from = try source.open(durability: .normal)
        let to = try destination.open(durability: .full)
        let started = Date()
        do {
            // Progress every 100 batches: a large table should not look stuck, nor fill a terminal.
            let summary = try RegistryCopy.copy(from: from, to: to, batchSize: batch) { table, copied in
                if copied % (100 * batch) == 0 { printError("  \(table): \(copied) rows so far") }
            }
            try to.close()
            for t in summary.tables {
                print("\(t.table): \(t.rows) rows (\(t.copied) copied now), sha256 \(t.checksum.prefix(16))…")
            }
            print("copied and verified \(summary.tables.reduce(0) { $0 + $1.rows }) rows at revision \(summary.revision) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        } catch let error as RegistryCopy.CopyError {
            printError("capreg copy-store: \(error)")
            throw ExitCode(65)
        }
    }
}
