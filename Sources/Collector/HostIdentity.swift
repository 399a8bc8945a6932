#if canImport(Glibc)
import Glibc
#endif
import Report

/// Who and what is running: hostname, machine id, `uname -r` and `uname -v`.
public enum HostIdentity {
    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `/etc/machine-id` without its newline; nil when absent or empty.
    public static func machineID(path: String = "/etc/machine-id") -> String? {
        guard case .success(let text) = FileReader.text(path) else { return nil }
        let id = text.trimmingWhitespace()
        return id.isEmpty ? nil : id
    }

    public static func kernel() -> Report.Kernel {
        var u = utsname()
        guard uname(&u) == 0 else { return Report.Kernel(release: "unknown") }
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return Report.Kernel(release: field(u.release), version: field(u.version))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
