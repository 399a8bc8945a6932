/// What an unexpected store error may say in a log: the backend's code and message (SQLBackendError),
/// never the statement or its arguments (a 240 KB query per failing request, and other callers' values).
public enum StoreErrorText {
    public static func summary(_ error: any Error) -> String {
        if let e = error as? any SQLBackendError { return e.summary }
        // Anything else is ours and carries no SQL; still bounded, one line.
        return String(String(describing: error).prefix(300)).replacingOccurrences(of: "\n", with: " ")
    }
}
