/// A kernel release string (`uname -r`) split into numbers and flavour, ordered as versions:
/// 5.10 > 5.9, and `6.1.0-56-amd64` sorts with 6.1.0. Parsing never fails: text with no leading
/// number keeps major/minor/patch at 0 and everything in `flavour`.
public struct KernelRelease: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// What follows the numbers, e.g. `-56-amd64`, `+vsva`, `-rc3`.
    public var flavour: String
    public var text: String

    public init(_ text: String) {
        self.text = text
        var numbers: [Int] = []
        var index = text.startIndex
        while numbers.count < 3 {
            var digits = ""
            while index < text.endIndex, let d = text[index].wholeNumberValue, text[index].isASCII, digits.count < 9 {
                digits.append(Character(String(d)))
                index = text.index(after: index)
            }
            guard let n = Int(digits) else { break }
            numbers.append(n)
            guard index < text.endIndex, text[index] == ".", numbers.count < 3 else { break }
            let next = text.index(after: index)
            guard next < text.endIndex, text[next].isASCII, text[next].isNumber else { break }
            index = next
        }
        major = numbers.count > 0 ? numbers[0] : 0
        minor = numbers.count > 1 ? numbers[1] : 0
        patch = numbers.count > 2 ? numbers[2] : 0
        flavour = String(text[index...])
    }

    public init(major: Int, minor: Int, patch: Int = 0) {
        self.init("\(major).\(minor).\(patch)")
    }

    public var description: String { text }

    /// Numbers first; flavour only breaks ties so that ordering is total and stable.
    public static func < (a: KernelRelease, b: KernelRelease) -> Bool {
        (a.major, a.minor, a.patch, a.flavour) < (b.major, b.minor, b.patch, b.flavour)
    }

    /// True when the numeric version is at least major.minor(.patch).
    public func atLeast(_ major: Int, _ minor: Int, _ patch: Int = 0) -> Bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }
}
