import Decoders

/// How a FactValue sits in the `type`, `value_int`, `value_text` columns: booleans and integers in
/// value_int so that they compare as numbers, text in value_text.
enum FactColumns {
    static func split(_ value: FactValue) -> (type: String, int: Int64?, text: String?) {
        switch value {
        case .bool(let b): return ("bool", b ? 1 : 0, nil)
        case .int(let i): return ("int", i, nil)
        case .text(let s): return ("text", nil, s)
        }
    }

    static func join(type: String, int: Int64?, text: String?) -> FactValue {
        switch type {
        case "bool": return .bool((int ?? 0) != 0)
        case "int": return .int(int ?? 0)
        default: return .text(text ?? "")
        }
    }
}

/// The kernel release as text that sorts as versions: zero-padded numbers, then the flavour.
enum KernelKey {
    static func of(_ k: KernelRelease) -> String {
        pad(k.major) + "." + pad(k.minor) + "." + pad(k.patch) + k.flavour
    }

    private static func pad(_ n: Int) -> String {
        let digits = String(n)
        return digits.count >= 6 ? digits : String(repeating: "0", count: 6 - digits.count) + digits
    }
}
