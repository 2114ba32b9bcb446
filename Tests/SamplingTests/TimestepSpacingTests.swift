import Sampling
import Testing

/// Plans against reference.md's table and numpy/ermongroup outputs computed in Python.
@Suite struct TimestepSpacingTests {
    @Test func leading50() throws {
        let plan = try TimestepSpacing.leading.plan(steps: 50, trainTimesteps: 1000)
        #expect(plan == Array(stride(from: 980, through: 0, by: -20)))
        #expect(try TimestepSpacing.leading.plan(steps: 50, trainTimesteps: 1000, offset: 1).first == 981)
        #expect(try TimestepSpacing.leading.plan(steps: 3, trainTimesteps: 1000) == [666, 333, 0])
    }

    @Test func trailing() throws {
        let plan = try TimestepSpacing.trailing.plan(steps: 50, trainTimesteps: 1000)
        #expect(plan == Array(stride(from: 999, through: 19, by: -20)))
        #expect(try TimestepSpacing.trailing.plan(steps: 3, trainTimesteps: 1000) == [999, 666, 332])
        // round half to even, as numpy: 1000 − 12.5·k
        #expect(try TimestepSpacing.trailing.plan(steps: 80, trainTimesteps: 1000).prefix(4) == [999, 987, 974, 961])
        // numpy's arange gives diffusers a 62nd timestep, −1, here; we keep exactly S.
        let s61 = try TimestepSpacing.trailing.plan(steps: 61, trainTimesteps: 1000)
        #expect(s61.count == 61 && s61.last == 15)
    }

    @Test func linspace() throws {
        let plan = try TimestepSpacing.linspace.plan(steps: 50, trainTimesteps: 1000)
        #expect(plan.count == 50 && plan.first == 999 && plan.last == 0)
        #expect(plan.prefix(6) == [999, 979, 958, 938, 917, 897])
        // 499.5 rounds to 500 (half to even)
        #expect(try TimestepSpacing.linspace.plan(steps: 3, trainTimesteps: 1000) == [999, 500, 0])
    }

    @Test func quad() throws {
        #expect(try TimestepSpacing.quad.plan(steps: 10, trainTimesteps: 1000) == [800, 632, 483, 355, 246, 158, 88, 39, 9, 0])
        // ermongroup's S = 50 sequence starts 0, 0, 1, …: the duplicate 0 is dropped.
        let s50 = try TimestepSpacing.quad.plan(steps: 50, trainTimesteps: 1000)
        #expect(s50.count == 49 && s50.prefix(3) == [800, 767, 736] && s50.suffix(3) == [2, 1, 0])
        let s1000 = try TimestepSpacing.quad.plan(steps: 1000, trainTimesteps: 1000)
        #expect(s1000.count == 688)
    }

    @Test(arguments: TimestepSpacing.allCases) func everyStepCountGivesAStrictlyDecreasingPlan(_ spacing: TimestepSpacing) throws {
        for T in [1, 7, 50, 1000] {
            for S in 1...T {
                let plan = try spacing.plan(steps: S, trainTimesteps: T)
                #expect(zip(plan, plan.dropFirst()).allSatisfy { $0 > $1 }, "\(spacing) T=\(T) S=\(S)")
                #expect(plan.allSatisfy { (0..<T).contains($0) })
                if spacing != .quad { #expect(plan.count == S, "\(spacing) T=\(T) S=\(S)") }
            }
        }
    }

    @Test func planBelow() throws {
        let below = try TimestepSpacing.leading.plan(steps: 10, trainTimesteps: 1000, below: 550)
        #expect(below == [500, 400, 300, 200, 100, 0])
        #expect(try TimestepSpacing.leading.plan(steps: 10, trainTimesteps: 1000, below: 0).isEmpty)
    }

    @Test func errors() {
        #expect(throws: TimestepSpacingError.stepsOutOfRange(steps: 0, trainTimesteps: 1000)) {
            try TimestepSpacing.leading.plan(steps: 0, trainTimesteps: 1000)
        }
        #expect(throws: TimestepSpacingError.stepsOutOfRange(steps: 1001, trainTimesteps: 1000)) {
            try TimestepSpacing.trailing.plan(steps: 1001, trainTimesteps: 1000)
        }
        do {
            _ = try TimestepSpacing.leading.plan(steps: 1000, trainTimesteps: 1000, offset: 1)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("1000") && "\(error)".contains("steps_offset"))
        }
    }
}
