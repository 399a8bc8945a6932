import Foundation
import Query

/// The parses of expressions and field lists that requests repeat (a scheduler asks the same question
/// every cycle): parsing was about a twentieth of a compact page's time. Parsing is pure (the vocabulary
/// and the profiles are built in), so a kept parse is the one the text would get now. Only parses that
/// succeed are kept: an error is made again, with its position, each time. At most `capacity` texts, each
/// within QueryLimits.maxLength; when full, the cache starts over.
final class ParseCache<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var parsed: [String: Value] = [:]
    private let capacity: Int

    init(capacity: Int = 256) { self.capacity = capacity }

    func value(_ text: String, _ parse: (String) throws(QueryError) -> Value) throws(QueryError) -> Value {
        if let value = lock.withLock({ parsed[text] }) { return value }
        let value = try parse(text)
        lock.withLock {
            if parsed.count >= capacity { parsed.removeAll(keepingCapacity: true) }
            parsed[text] = value
        }
        return value
    }

    var count: Int { lock.withLock { parsed.count } }
}
