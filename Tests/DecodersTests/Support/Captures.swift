import Foundation

/// The real-kernel captures in ../shared/captures (beside the repository). Tests fail, not skip,
/// when they are missing: they are the project's ground truth.
enum Captures {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/captures")

    static let folders = ["legacy-aw39", "scalable-aw48", "bpo12k-q10-legacy-aw39", "iommufd-q10-scalable-flts"]

    static func text(_ folder: String, _ path: String) throws -> String {
        let url = root.appendingPathComponent(folder).appendingPathComponent(path)
        guard let s = try? String(contentsOf: url, encoding: .utf8) else {
            throw CaptureMissing(path: url.path)
        }
        return s
    }

    /// Bytes of a capture's hex file (`vfio-info.hex`).
    static func hexFile(_ folder: String, _ path: String) throws -> [UInt8] {
        hexBytes(try text(folder, path))
    }

    /// Hex digits to bytes, ignoring anything else (whitespace, newlines).
    static func hexBytes(_ text: String) -> [UInt8] {
        let digits = text.filter { $0.isHexDigit }
        var out: [UInt8] = []
        var i = digits.startIndex
        while i < digits.endIndex {
            let j = digits.index(i, offsetBy: 2)
            out.append(UInt8(digits[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    struct CaptureMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "capture file missing: \(path) (the tests need ../shared/captures beside the repository)" }
    }
}
