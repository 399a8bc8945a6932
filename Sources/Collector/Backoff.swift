/// Exponential backoff with jitter: attempt n (0-based) waits a uniformly random time in
/// [d/2, d] where d = min(cap, base · 2ⁿ), so agents that failed together do not retry together.
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double

    public init(base: Double = 1, cap: Double = 300) {
        self.base = base
        self.cap = cap
    }

    public func delay(attempt: Int, random: Double = Double.random(in: 0...1)) -> Double {
        let d = min(cap, base * Double(1 << min(attempt, 30)))
        return d / 2 + d / 2 * random
    }

    /// A daemon interval jittered by ±`fraction`, so a fleet started together spreads out.
    public static func jittered(_ interval: Double, fraction: Double = 0.1, random: Double = Double.random(in: 0...1)) -> Double {
        interval * (1 - fraction + 2 * fraction * random)
    }
}
