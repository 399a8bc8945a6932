import Report

/// What one probe sequence asked the kernel and how it answered: probe key → `ok`, `skipped`, an errno
/// name or a decimal answer (report source kind `probe`; the keys are Decoders/KernelProbes.swift's).
/// The registry decides the usable facts from these outcomes alone, so a key is written only for a
/// question that was asked, or marked `skipped` when an earlier step failed and it could not be.
struct ProbeMap {
    private(set) var outcomes: [String: String] = [:]

    subscript(key: String) -> String? { outcomes[key] }

    mutating func set(_ key: String, _ outcome: String) { outcomes[key] = outcome }

    /// `ok` or the errno name; returns the value on success.
    @discardableResult
    mutating func record<T>(_ key: String, _ result: Result<T, Errno>) -> T? {
        switch result {
        case .success(let value): outcomes[key] = "ok"; return value
        case .failure(let e): outcomes[key] = e.name; return nil
        }
    }

    /// Marks every key of `sequence` that has no outcome yet as `skipped`: the steps after a failure.
    mutating func skipUnasked(_ sequence: [String]) {
        for key in sequence where outcomes[key] == nil { outcomes[key] = "skipped" }
    }

    /// The report source: raw in the registry's canonical form (sorted keys), so equal answers give equal bytes.
    func source(unit: String, detail: String? = nil) -> Report.Source {
        Report.Source(kind: .probe, unit: unit, detail: detail, raw: SourceDecoder.probeRaw(outcomes))
    }
}
