import ArgumentParser
import Decoders
import Foundation

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode a capability blob or register values into capreg's vocabulary.",
        discussion: """
        Reads FILE (or standard input when FILE is - or absent). The encoding (raw bytes, hex text or \
        base64) is detected unless --encoding is given. For vtd-regs and amd-efr, text made only of hex \
        words is read as register values the way sysfs prints them (`d2008c22260286 f00f4a`); give \
        --encoding to read such text as an encoded blob instead.

        Kinds and the bytes they expect:
        \(BlobKind.allCases.map { "  \($0.rawValue): \($0.layout)" }.joined(separator: "\n"))

        Exit status: 0 decoded, 65 malformed input (the message names the byte offset and what was \
        expected), 66 input not readable, 64 usage error.
        """
    )

    @Argument(help: "Blob to decode; - or absent reads standard input.")
    var file: String?

    @Option(help: ArgumentHelp("What the blob is.", valueName: BlobKind.allCases.map(\.rawValue).joined(separator: "|")))
    var kind: BlobKind?

    @Option(help: ArgumentHelp("How the input is encoded (default: detected).", valueName: "raw|hex|base64"))
    var encoding: BlobEncoding?

    @Option(name: .customLong("vtd-cap"), help: "VT-d CAP register value (hex, sysfs form or 0x…); with --vtd-ecap instead of a blob.")
    var vtdCap: String?

    @Option(name: .customLong("vtd-ecap"), help: "VT-d ECAP register value (hex).")
    var vtdEcap: String?

    @Option(help: "Kernel release the blob came from (uname -r); decides reused capability ids and AMD feature order.")
    var kernel: String?

    @Option(help: ArgumentHelp("Nesting-info revision to assume instead of detecting it.", valueName: "v2…v8"))
    var revision: NestingInfo.Revision?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        if (vtdCap == nil) != (vtdEcap == nil) {
            throw ValidationError("--vtd-cap and --vtd-ecap go together")
        }
        if vtdCap != nil && (file != nil || kind != nil) {
            throw ValidationError("give either --vtd-cap/--vtd-ecap or a blob with --kind, not both")
        }
        if vtdCap == nil && kind == nil {
            throw ValidationError("missing --kind (\(BlobKind.allCases.map(\.rawValue).joined(separator: ", "))) or --vtd-cap/--vtd-ecap")
        }
    }

    func run() throws {
        let kernelRelease = kernel.map(KernelRelease.init)
        let decoded: DecodedBlob
        do {
            if let vtdCap, let vtdEcap {
                decoded = try BlobDecoder.decode(.vtdRegs, bytes: [], registerText: "\(vtdCap) \(vtdEcap)", kernel: kernelRelease)
            } else {
                let input = try readInput()
                let registerKinds: Set<BlobKind> = [.vtdRegs, .amdEFR]
                let text = encoding == nil && registerKinds.contains(kind!) ? String(validating: input, as: UTF8.self) : nil
                let bytes = text != nil && BlobDecoder.hexWords(text!) != nil ? [] : try BlobText.bytes(input, encoding: encoding)
                decoded = try BlobDecoder.decode(kind!, bytes: bytes, registerText: text, kernel: kernelRelease, revision: revision)
            }
        } catch let error as DecodeError {
            FileHandle.standardError.write(Data("capreg decode: \(error)\n".utf8))
            throw ExitCode(65)
        }
        print(json ? DecodeOutput.json(decoded) : DecodeOutput.table(decoded), terminator: "")
    }

    func readInput() throws -> [UInt8] {
        if file == nil || file == "-" {
            return [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        }
        guard let data = FileManager.default.contents(atPath: file!) else {
            FileHandle.standardError.write(Data("capreg decode: cannot read \(file!)\n".utf8))
            throw ExitCode(66)
        }
        return [UInt8](data)
    }
}

extension BlobKind: ExpressibleByArgument {}
extension BlobEncoding: ExpressibleByArgument {}
extension NestingInfo.Revision: ExpressibleByArgument {}
