import Foundation

/// The one cursor codec of every paged list (hosts, changes, history, kernels, the vocabulary): a tag
/// naming the list and format, then the last key of the page, base64url without padding, so that clients
/// treat cursors as opaque and a later format can be told apart.
public enum CursorText {
    /// Longer cursors are refused before decoding (no key of ours comes near it).
    public static let maxBytes = 4096

    public static func encode(_ tag: String, _ key: String) -> String {
        Data((tag + ":" + key).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The key of a cursor made with `tag`; nil for anything else.
    public static func decode(_ tag: String, _ cursor: String) -> String? {
        guard cursor.utf8.count <= maxBytes else { return nil }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8), text.hasPrefix(tag + ":") else {
            return nil
        }
        return String(text.dropFirst(tag.count + 1))
    }
}
