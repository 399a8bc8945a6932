/// A small deterministic generator (SplitMix64): the same seed gives the same fleet on every machine.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A generator for one sub-stream (host i, …), independent of how many numbers others drew.
    static func stream(_ seed: UInt64, _ parts: UInt64...) -> SplitMix64 {
        var g = SplitMix64(seed: seed)
        for p in parts { g = SplitMix64(seed: g.next() ^ (p &* 0xd6e8_feb8_6659_fd93)) }
        return g
    }
}
