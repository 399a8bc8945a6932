import ArgumentParser

@main
struct Capreg: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capreg",
        abstract: "IOMMU nesting-capability registry: decode, collect, store and query what each host's IOMMU can do.",
        version: CapregVersion.text,
        subcommands: [DecodeCommand.self, VocabularyCommand.self, IngestCommand.self, RedecodeCommand.self, SynthCommand.self, QueryCommand.self, ServeCommand.self, CollectCommand.self, ImportDmesgCommand.self]
    )
}

enum CapregVersion {
    static let text = "0.1.0"
}
