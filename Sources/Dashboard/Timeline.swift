import Decoders
import Foundation
import Store

/// A host's history as steps: each version with what it gained, lost and changed against the one
/// before, and the kernel before and after.
public struct TimelineStep: Sendable, Hashable {
    public var from: Date
    /// nil while current.
    public var to: Date?
    public var kernelBefore: String?
    public var kernel: String?
    public var gained: [Fact]
    public var lost: [Fact]
    /// Same name, another value: (name, before, after).
    public var changed: [Change]
    /// The first version: everything it holds is where the history starts, not a gain.
    public var isFirst: Bool
    public var factCount: Int
    /// The report the version comes from and who wrote it (nil: a version the history read without one).
    public var source: ReportSource? = nil

    public struct Change: Sendable, Hashable {
        public var name: String
        public var before: FactValue
        public var after: FactValue
    }

    public var kernelChanged: Bool { !isFirst && kernelBefore != kernel }

    /// Steps oldest first, from versions oldest first (RegistryStore.history).
    public static func steps(_ versions: [HostVersion]) -> [TimelineStep] {
        var out: [TimelineStep] = []
        var previous: HostVersion?
        for v in versions {
            let old = Dictionary((previous?.facts ?? []).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            let new = Dictionary(v.facts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            var step = TimelineStep(from: v.validFrom, to: v.validTo, kernelBefore: previous?.kernelRelease, kernel: v.kernelRelease,
                                    gained: [], lost: [], changed: [], isFirst: previous == nil, factCount: v.facts.count, source: v.source)
            if previous != nil {
                for name in Set(old.keys).union(new.keys).sorted() {
                    switch (old[name], new[name]) {
                    case (nil, let a?): step.gained.append(Fact(name, a))
                    case (let b?, nil): step.lost.append(Fact(name, b))
                    case (let b?, let a?) where a != b: step.changed.append(Change(name: name, before: b, after: a))
                    default: break
                    }
                }
            }
            out.append(step)
            previous = v
        }
        return out
    }
}
