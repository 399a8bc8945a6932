import ArgumentParser
import Query

/// How the CLI reads a query expression from its arguments and says what is wrong with one: the message,
/// then the expression indented with a caret under the position (exit 65 is the caller's).
enum QueryText {
    /// `command: message`, then the pointed expression, indented by two spaces.
    static func printRefusal(_ error: QueryError, in text: String, command: String, what: String = "") {
        printError("\(command): \(what)\(error)\n  " + indented(error, text))
    }

    /// The expression with a caret under `error`'s position, every line indented by two spaces.
    static func indented(_ error: QueryError, _ text: String) -> String {
        error.pointing(into: text).replacingOccurrences(of: "\n", with: "\n  ")
    }

    /// A filter given as an argument: absent or blank is every host (nil); a bad one is printed, exit 65.
    static func filter(_ text: String?, command: String) throws -> QueryExpr? {
        guard let text, !text.allSatisfy({ $0 == " " }) else { return nil }
        do { return try QueryParser.parse(text) } catch {
            printRefusal(error, in: text, command: command)
            throw ExitCode(65)
        }
    }
}
