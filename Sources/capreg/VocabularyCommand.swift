import ArgumentParser
import Decoders

struct VocabularyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocabulary",
        abstract: "List every decoded value's name, type and meaning.",
        discussion: "--markdown prints docs/capabilities.md exactly."
    )

    @Flag(help: "Print the Markdown document (docs/capabilities.md).")
    var markdown = false

    func run() {
        if markdown {
            print(VocabularyDocument.markdown(), terminator: "")
            return
        }
        let entries = Vocabulary.all + Vocabulary.device
        let width = entries.map(\.name.count).max() ?? 4
        for e in entries {
            print(e.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + e.type.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0) + "  " + e.meaning)
        }
    }
}
