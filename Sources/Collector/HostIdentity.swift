#if canImport(Glibc)
import Glibc
#endif
import Report

/// Who and what is running: hostname, machine id, `uname -r` and `uname -v`.
public enum HostIdentity {
    /// The kernel's hostname (gethostname), or nil when it cannot be read. Never a made-up name.
    public static func hostname() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// This host has no name the registry would take: `capreg collect` exits 68 (EX_NOHOST) with this text.
    public struct Unusable: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The name reports go out under: the configured one (`--hostname`, the config's `hostname`) when
    /// given, else the system's. A name the registry refuses (Report.hostnameProblem: empty, localhost,
    /// localhost.localdomain, (none), …) is refused here too; nothing is put in its place. Not the machine
    /// id: schedulers and people know hosts by name, and a host reporting under its machine id would split
    /// its history in two the day its hostname is fixed.
    public static func resolve(configured: String?, system: String?) throws(Unusable) -> String {
        let advice = "give this host its name with --hostname NAME or `hostname = NAME` in the collector's config"
        if let configured {
            if let problem = Report.hostnameProblem(configured) {
                throw Unusable(description: "no usable host identity: the configured hostname (--hostname or the config's hostname): \(problem)")
            }
            return configured
        }
        guard let system else {
            throw Unusable(description: "no usable host identity: gethostname failed; \(advice)")
        }
        if let problem = Report.hostnameProblem(system) {
            throw Unusable(description: "no usable host identity: the system hostname: \(problem); \(advice)")
        }
        return system
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
