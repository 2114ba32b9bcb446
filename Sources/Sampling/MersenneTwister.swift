/// The 32-bit Mersenne Twister MT19937 (Matsumoto & Nishimura), seeded as torch's `at::mt19937`
/// and C++'s `std::mt19937` are: state[0] = seed, state[j] = 1812433253·(state[j−1] ⊕
/// (state[j−1] ≫ 30)) + j, all mod 2³².
public struct MersenneTwister: Sendable {
    private static let n = 624
    private static let m = 397
    private var state: [UInt32]
    private var index: Int

    /// A generator seeded with a 32-bit seed.
    public init(seed: UInt32) {
        var state = [UInt32](repeating: 0, count: Self.n)
        state[0] = seed
        for j in 1..<Self.n {
            state[j] = 1_812_433_253 &* (state[j - 1] ^ (state[j - 1] >> 30)) &+ UInt32(j)
        }
        self.state = state
        index = Self.n
    }

    /// The next 32-bit output.
    public mutating func next() -> UInt32 {
        var y = nextState()
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    private mutating func nextState() -> UInt32 {
        if index >= Self.n { twist() }
        defer { index += 1 }
        return state[index]
    }

    private mutating func twist() {
        let n = Self.n
        let m = Self.m
        state.withUnsafeMutableBufferPointer { s in
            for i in 0..<n {
                let y = (s[i] & 0x8000_0000) | (s[(i + 1) % n] & 0x7fff_ffff)
                s[i] = s[(i + m) % n] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_b0df : 0)
            }
        }
        index = 0
    }
}
