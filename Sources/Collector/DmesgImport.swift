import Decoders
import Foundation
import Report
import Timestamps

/// Backfill from archived boot logs: dmesg (with or without `[ seconds]` stamps) and journalctl
/// `--output short-iso`. Each boot becomes one report dated at the boot, holding the registers the
/// kernel printed: `DMAR: dmarN: reg_base_addr … ver … cap … ecap …` as a sysfs-intel source and
/// `AMD-Vi: Extended features (0x…[, 0x…])` as a sysfs-amd source (the same values sysfs shows;
/// `detail` names the log line). Report ids are derived from host, boot time and the lines, so
/// importing the same log twice sends the same ids and the registry stores it once.
public enum DmesgImport {
    public static let version = "capreg-import-dmesg 0.1.0"

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public init(file: String, line: Int, message: String) {
            self.file = file; self.line = line; self.message = message
        }
        public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
    }

    struct Boot {
        var start: Date?
        var startLine: Int
        var kernel: String?
        var intel: [(unit: String, files: [String: String], line: Int)] = []
        var amd: [(efr: UInt64, efr2: UInt64?, line: Int)] = []
    }

    /// `bootTime` dates a log without wall-clock times (plain dmesg); `kernel` is used when the log has
    /// no `Linux version` line.
    public static func reports(_ text: String, file: String, host: String, machineID: String? = nil,
                               bootTime: Date? = nil, kernel: String? = nil) throws(ParseError) -> [Report] {
        var boots: [Boot] = []
        var current: Boot?
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.hasPrefix("-- Boot ") || line.hasPrefix("-- Reboot --") {
                if let c = current { boots.append(c) }
                current = nil
                continue
            }
            let (wallClock, monotonic, message) = split(line)
            // A new boot: the kernel's banner (dmesg stamps are not monotonic early in boot).
            let banner = message.range(of: "Linux version ").map { message[$0.upperBound...].split(separator: " ").first.map(String.init) } ?? nil
            if banner != nil {
                if let c = current, !(c.intel.isEmpty && c.amd.isEmpty && c.kernel == nil) { boots.append(c) }
                current = Boot(start: wallClock, startLine: number, kernel: banner ?? nil)
            }
            if current == nil { current = Boot(start: wallClock, startLine: number) }
            if current!.start == nil, let wallClock { current!.start = wallClock.addingTimeInterval(-(monotonic ?? 0)) }
            if let r = message.range(of: "DMAR: dmar") {
                let fields = message[r.lowerBound...].split(separator: " ").map(String.init)
                // DMAR: dmarN: reg_base_addr A ver M:m cap C ecap E
                guard fields.count >= 10, fields[1].hasSuffix(":"), fields[2] == "reg_base_addr", fields[4] == "ver",
                      fields[6] == "cap", fields[8] == "ecap" else {
                    if message.contains("reg_base_addr") {
                        throw ParseError(file: file, line: number, message: "expected `DMAR: dmarN: reg_base_addr HEX ver M:m cap HEX ecap HEX`")
                    }
                    continue
                }
                for (name, value) in [("reg_base_addr", fields[3]), ("cap", fields[7]), ("ecap", fields[9])]
                where value.isEmpty || !value.allSatisfy(\.isHexDigit) {
                    throw ParseError(file: file, line: number, message: "\(name) `\(value)` is not hexadecimal")
                }
                current!.intel.append((String(fields[1].dropLast()), ["address": fields[3] + "\n", "version": fields[5] + "\n",
                                                                      "cap": fields[7] + "\n", "ecap": fields[9] + "\n"], number))
            } else if let r = message.range(of: "AMD-Vi: Extended features (") {
                let inside = message[r.upperBound...].prefix { $0 != ")" }
                let values = inside.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let parsed = values.map { v -> UInt64? in v.hasPrefix("0x") ? UInt64(v.dropFirst(2), radix: 16) : nil }
                guard (1...2).contains(parsed.count), parsed.allSatisfy({ $0 != nil }) else {
                    throw ParseError(file: file, line: number, message: "expected `AMD-Vi: Extended features (0xEFR[, 0xEFR2])`")
                }
                current!.amd.append((parsed[0]!, parsed.count == 2 ? parsed[1] : nil, number))
            }
        }
        if let c = current { boots.append(c) }
        var out: [Report] = []
        boots = boots.filter { !($0.intel.isEmpty && $0.amd.isEmpty) }
        for boot in boots {
            guard let start = boot.start ?? (boots.count == 1 ? bootTime : nil) else {
                throw ParseError(file: file, line: boot.startLine, message: bootTime == nil
                    ? "no wall-clock time for this boot; give --boot-time (RFC 3339) or use journalctl --output short-iso"
                    : "--boot-time can date only a log holding one boot")
            }
            guard let release = boot.kernel ?? kernel else {
                throw ParseError(file: file, line: boot.startLine, message: "no `Linux version` line for this boot; give --kernel RELEASE")
            }
            let release6_0 = { let k = KernelRelease(release); return k.major == 6 && k.minor == 0 }()
            var sources: [Report.Source] = boot.intel.map {
                Report.Source(kind: .sysfsIntel, unit: $0.unit, detail: "boot log \(file):\($0.line)", raw: SourceDecoder.sysfsRaw($0.files))
            }
            for (i, a) in boot.amd.enumerated() {
                let features: String
                if let efr2 = a.efr2 {
                    // Written in the order sysfs used on that kernel, which is how the decoder reads it.
                    features = release6_0 ? "\(hex(efr2)):\(hex(a.efr))" : "\(hex(a.efr)):\(hex(efr2))"
                } else {
                    features = hex(a.efr)
                }
                sources.append(Report.Source(kind: .sysfsAMD, unit: "ivhd\(i)", detail: "boot log \(file):\(a.line)",
                                             raw: SourceDecoder.sysfsRaw(["features": features + "\n"])))
            }
            sources = sources.map { Collector.decode($0, kernel: KernelRelease(release)) }
            let seed = "\(host)\u{0}\(start.timeIntervalSince1970)\u{0}\(release)\u{0}" +
                sources.map { "\($0.unit)=\($0.raw ?? "")" }.joined(separator: "\u{0}")
            out.append(Report(reportId: stableID(seed), collectedAt: start, host: Report.Host(hostname: host, machineId: machineID),
                              kernel: Report.Kernel(release: release), collectorVersion: version, sources: sources))
        }
        return out
    }

    static func hex(_ v: UInt64) -> String { String(v, radix: 16) }

    /// (wall-clock time, dmesg seconds, message) of one line in any of the supported shapes.
    static func split(_ line: Substring) -> (Date?, Double?, Substring) {
        var rest = line
        var wall: Date?
        // journalctl short-iso: `2024-01-02T03:04:05+0000 host kernel: message`
        if let first = rest.split(separator: " ", maxSplits: 1).first, first.count >= 19, first.dropFirst(4).first == "-",
           first.dropFirst(10).first == "T", let date = parseISO(String(first)) {
            wall = date
            rest = rest.dropFirst(first.count).drop { $0 == " " }
            if let k = rest.range(of: "kernel: ") { rest = rest[k.upperBound...] }
        }
        var stamp: Double?
        if rest.first == "[", let close = rest.firstIndex(of: "]") {
            stamp = Double(rest[rest.index(after: rest.startIndex)..<close].trimmingCharacters(in: .whitespaces))
            rest = rest[rest.index(after: close)...].drop { $0 == " " }
        }
        return (wall, stamp, rest)
    }

    /// journalctl's short-iso stamp (`2024-01-02T03:04:05+0000`: an offset without its colon) or RFC 3339,
    /// through RFC3339.parse.
    static func parseISO(_ text: String) -> Date? {
        var t = text
        if t.count > 5, let sign = t.dropLast(4).last, sign == "+" || sign == "-", t.suffix(4).allSatisfy(\.isNumber) {
            t.insert(":", at: t.index(t.endIndex, offsetBy: -2))
        }
        return try? RFC3339.parse(t)
    }

    /// A UUID-shaped id from two FNV-1a 64 digests of `seed`.
    static func stableID(_ seed: String) -> String {
        func fnv(_ basis: UInt64) -> UInt64 { seed.utf8.reduce(basis) { ($0 ^ UInt64($1)) &* 0x100000001b3 } }
        let a = fnv(0xcbf29ce484222325), b = fnv(0x84222325cbf29ce4)
        let h = String(format: "%016llx%016llx", a, b)
        let c = Array(h)
        return "\(String(c[0..<8]))-\(String(c[8..<12]))-8\(String(c[13..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))"
    }
}
