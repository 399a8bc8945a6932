import Decoders

/// A kernel version written in a query. Without a flavour it names a series: `"5.10"` is every 5.10.x
/// (`[5.10.0, 5.11.0)`), `"6"` every 6.x.y, `"6.1.55"` every 6.1.55 flavour. With a flavour
/// (`"6.1.0-18-amd64"`) it names that one release. Comparisons treat the series as a unit:
/// `kernel > "5.10"` means 5.11 and later, `kernel <= "5.10"` includes 5.10.200, `kernel = "5.10"`
/// any 5.10.x, so `=`/`!=` and `<`/`>=` and `<=`/`>` are exact complements.
public struct KernelVersion: Hashable, Sendable {
    public var text: String
    /// The smallest release of the series (or the release itself).
    public var lower: KernelRelease
    /// The first release after the series; nil when the literal names one exact release.
    public var upper: KernelRelease?

    /// Largest number a component may have: the store's version key pads numbers to six digits.
    public static let maxComponent = 999_999

    /// The version, or why `text` is not one.
    public static func parse(_ text: String) -> Result<KernelVersion, KernelVersionError> {
        let scalars = Array(text.unicodeScalars)
        var numbers: [Int] = []
        var i = 0
        while numbers.count < 3 {
            let start = i
            while i < scalars.count, KernelVersion.isDigit(scalars[i]) { i += 1 }
            if i == start { break }
            guard i - start <= 6, let n = Int(String(String.UnicodeScalarView(scalars[start..<i]))), n <= maxComponent else {
                return .failure(.componentTooLarge)
            }
            numbers.append(n)
            // A dot continues the version only when a digit follows (as KernelRelease reads it).
            guard numbers.count < 3, i + 1 < scalars.count, scalars[i] == ".", KernelVersion.isDigit(scalars[i + 1]) else { break }
            i += 1
        }
        guard !numbers.isEmpty else { return .failure(.notAVersion) }
        let release = KernelRelease(text)
        guard release.major == numbers[0], release.minor == (numbers.count > 1 ? numbers[1] : 0),
              release.patch == (numbers.count > 2 ? numbers[2] : 0) else { return .failure(.notAVersion) }
        if !release.flavour.isEmpty {
            return .success(KernelVersion(text: text, lower: release, upper: nil))
        }
        var next = numbers + Array(repeating: 0, count: 3 - numbers.count)
        next[numbers.count - 1] += 1
        for j in numbers.count..<3 { next[j] = 0 }
        return .success(KernelVersion(text: text, lower: KernelRelease(major: numbers[0], minor: numbers.count > 1 ? numbers[1] : 0,
                                                                        patch: numbers.count > 2 ? numbers[2] : 0),
                                      upper: KernelRelease(major: next[0], minor: next[1], patch: next[2])))
    }

    static func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }

    /// Whether a host's kernel release satisfies `release op self`.
    public func matches(_ release: KernelRelease, _ op: QueryOp) -> Bool {
        let atLeastLower = !KernelVersion.less(release, lower)
        guard let upper else {
            let equal = KernelVersion.order(release) == KernelVersion.order(lower)
            switch op {
            case .eq: return equal
            case .ne: return !equal
            case .lt: return !atLeastLower
            case .le: return !atLeastLower || equal
            case .gt: return atLeastLower && !equal
            case .ge: return atLeastLower
            }
        }
        let belowUpper = KernelVersion.less(release, upper)
        switch op {
        case .eq: return atLeastLower && belowUpper
        case .ne: return !(atLeastLower && belowUpper)
        case .lt: return !atLeastLower
        case .le: return belowUpper
        case .gt: return !belowUpper
        case .ge: return atLeastLower
        }
    }

    /// The store's order: numbers, then the flavour's UTF-8 bytes (what SQL's binary collation compares).
    static func order(_ k: KernelRelease) -> ([Int], [UInt8]) { ([k.major, k.minor, k.patch], Array(k.flavour.utf8)) }

    static func less(_ a: KernelRelease, _ b: KernelRelease) -> Bool {
        let x = order(a), y = order(b)
        if x.0 != y.0 { return x.0.lexicographicallyPrecedes(y.0) }
        return x.1.lexicographicallyPrecedes(y.1)
    }
}

public enum KernelVersionError: Error, Hashable, Sendable {
    case notAVersion, componentTooLarge

    public var message: String {
        switch self {
        case .notAVersion: return "a kernel version such as \"5.10\", \"6.1.55\" or \"6.1.0-18-amd64\""
        case .componentTooLarge: return "kernel version numbers of at most \(KernelVersion.maxComponent)"
        }
    }
}
