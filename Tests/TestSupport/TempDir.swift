import Foundation

/// A fresh folder under the system temporary directory, removed when the value goes away.
/// Hold it (a local or a stored property) for as long as the folder is in use.
public final class TempDir {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("capreg-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
