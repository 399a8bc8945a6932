import ArgumentParser

/// Synchronous on purpose: no subcommand awaits anything, and an async main ends the main thread with
/// dispatch_main()'s pthread_exit, whose forced unwind makes the static binary's unwinder sort every FDE
/// it has (about 45 ms of CPU and a few MB on each run, most of a one-shot `capreg collect`).
@main
struct Capreg: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capreg",
        abstract: "IOMMU nesting-capability registry: decode, collect, store and query what each host's IOMMU can do.",
        version: CapregVersion.text,
        subcommands: [DecodeCommand.self, VocabularyCommand.self, IngestCommand.self, RedecodeCommand.self, RetractCommand.self, CopyStoreCommand.self, AuditCommand.self, DiffCommand.self, WhyCommand.self, TokenCommand.self, SynthCommand.self, QueryCommand.self, WatchCommand.self, SyncCommand.self, ExportCommand.self, ServeCommand.self, CollectCommand.self, ImportDmesgCommand.self, ImportHistoryCommand.self]
    )
}

enum CapregVersion {
    static let text = "0.1.0"
}
