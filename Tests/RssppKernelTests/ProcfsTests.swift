// SPDX-License-Identifier: Apache-2.0
import Testing
import RssppCore
import RssppTestKit
@testable import RssppKernel

private func fixture(_ name: String) throws -> String {
    try TextFile.read(Fixtures.path(name, target: "RssppKernelTests"))
}

@Suite struct ProcfsTests {
    @Test func procStatOfThisVM() throws {
        let s = try ProcStat(parsing: try fixture("proc-stat-6.18-2cpu.txt"))
        #expect(s.cpus.keys.sorted() == [0, 1])
        let c0 = try #require(s.cpus[0])
        #expect(c0.user == 104517 && c0.nice == 1 && c0.system == 7937 && c0.idle == 62903)
        #expect(c0.iowait == 365 && c0.irq == 0 && c0.softirq == 198 && c0.steal == 693)
        #expect(c0.busy == 104517 + 1 + 7937 + 198)
        #expect(s.all.user == 214509)
    }

    @Test func procStatWithFewerColumns() throws {
        let s = try ProcStat(parsing: try fixture("proc-stat-old-7col.txt"))
        #expect(s.cpus[1]?.softirq == 35)
        #expect(s.cpus[1]?.steal == 0)
        #expect(s.cpus[1]?.total == 500 + 10 + 150 + 20000 + 25 + 3 + 35)
    }

    @Test func procStatErrorsNameTheLine() {
        #expect(throws: RssppError(.badFile, "")) { try ProcStat(parsing: "cpu 1 2 3 4\ncpu0 1 x 3 4\n") }
        #expect(throws: RssppError(.badFile, "")) { try ProcStat(parsing: "cpu 1 2 3\n") }
        #expect(throws: RssppError(.badFile, "")) { try ProcStat(parsing: "intr 1 2\n") }
        do {
            _ = try ProcStat(parsing: "cpu 1 2 3 4\ncpu0 1 x 3 4\n", source: "f")
            Issue.record("no error")
        } catch {
            #expect(error.message.hasPrefix("f:2:"))
        }
    }

    @Test func procStatDeltas() throws {
        let a = try ProcStat(parsing: "cpu 1 0 1 10 0 0 0\ncpu0 1 0 1 10 0 0 0\n")
        let b = try ProcStat(parsing: "cpu 3 0 2 20 0 1 4\ncpu0 3 0 2 20 0 1 4\n")
        let a0 = try #require(a.cpus[0]), b0 = try #require(b.cpus[0])
        let d = b0.since(a0)
        #expect(d.total == 2 + 1 + 10 + 1 + 4)
        #expect(d.interrupt == 5)
    }

    @Test func softnetOfThisVM() throws {
        let s = try SoftnetStat(parsing: try fixture("softnet_stat-6.18-2cpu.txt"))
        #expect(s.cpus.keys.sorted() == [0, 1])
        #expect(s.cpus[0]?.processed == 0x917)
        #expect(s.cpus[1]?.processed == 0x3492)
    }

    @Test func softnetWithoutCPUColumnUsesLineNumbers() throws {
        let s = try SoftnetStat(parsing: try fixture("softnet_stat-4.19-11col.txt"))
        #expect(s.cpus[0] == { var c = SoftnetCPU(); c.processed = 0xa1b2; c.dropped = 3; c.timeSqueeze = 0x10; return c }())
        #expect(s.cpus[1]?.timeSqueeze == 2)
    }

    @Test func softnetWithAnOfflineCPU() throws {
        let s = try SoftnetStat(parsing: try fixture("softnet_stat-6.18-offline-cpu1.txt"))
        #expect(s.cpus.keys.sorted() == [0, 2])
        #expect(s.cpus[2]?.dropped == 5)
        #expect(s.cpus[2]?.timeSqueeze == 7)
    }

    @Test func softnetRejectsGarbage() {
        #expect(throws: RssppError(.badFile, "")) { try SoftnetStat(parsing: "0000 zz 0000\n") }
        #expect(throws: RssppError(.badFile, "")) { try SoftnetStat(parsing: "0000 0000\n") }
    }

    @Test func liveFiles() throws {
        let stat = try ProcStat.read()
        let softnet = try SoftnetStat.read()
        #expect(!stat.cpus.isEmpty)
        #expect(Set(softnet.cpus.keys).isSubset(of: Set(stat.cpus.keys)))
        #expect(stat.cpus.values.allSatisfy { $0.total > 0 })
    }

    @Test func missingFileIsNotFound() {
        #expect(throws: RssppError(.notFound, "")) { try ProcStat.read(path: "/proc/rsspp-nonexistent") }
    }
}

@Suite struct EpochSampleBuilderTests {
    @Test func queueLoadIsTheLoadOfItsCPU() throws {
        var cores = [CoreCounters(), CoreCounters()]
        cores[0].netRxNs = 250_000_000; cores[0].napiPackets = 1000
        cores[1].netRxNs = 2_000_000_000; cores[1].napiPackets = 10
        var softnet: [Int: SoftnetCPU] = [0: SoftnetCPU(), 1: SoftnetCPU()]
        softnet[1]?.dropped = 8
        let buckets = CounterSnapshot(bucketPackets: [1, 2], bucketBytes: [3, 4], perCPU: [], totals: CPUCounters())
        // Queues 0 and 2 share CPU 1: its packets and drops split between them.
        let map = try QueueMap(cpus: [1, 0, 1])
        let s = EpochSampleBuilder.build(interval: 1, buckets: buckets, cores: CoreDeltas(bpf: cores, softnet: softnet), queueMap: map)
        #expect(s.queueBusy == [1.0, 0.25, 1.0])
        #expect(s.queuePackets == [5, 1000, 5])
        #expect(s.queueDrops == [4, 0, 4])
        #expect(s.bucketPackets == [1, 2])
    }

    @Test func procStatFallback() throws {
        var t = CPUTimes()
        t.idle = 75; t.softirq = 20; t.irq = 5
        let s = EpochSampleBuilder.build(
            interval: 1, buckets: CounterSnapshot(bucketPackets: [], bucketBytes: [], perCPU: [], totals: CPUCounters()),
            cores: CoreDeltas(procStat: [0: t]), queueMap: .identity(queues: 2))
        #expect(s.queueBusy == [0.25, 0])
    }
}
