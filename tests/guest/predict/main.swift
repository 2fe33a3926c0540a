// SPDX-License-Identifier: Apache-2.0
// predict: the queue every test flow should land on, computed with rssppd's own Toeplitz hash and
// indirection table (RssppCore sources compiled into this tool by tests/guest/run.sh).
//
//   predict KEYHEX TABLE SRC DST DPORT BASE N
//
// KEYHEX: the RSS key as "6d:5a:..." (ethtool -x style); TABLE: comma-separated queues, one per
// bucket; flows are UDP SRC:BASE+i -> DST:DPORT. Prints one line of N queue digits (0-9a-f),
// the format of qmcap's map. Exit status 2 on bad input.

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    print("predict: \(message)")
    exit(2)
}

let args = CommandLine.arguments
guard args.count == 8 else { fail("usage: predict KEYHEX TABLE SRC DST DPORT BASE N") }
var key = [UInt8]()
for part in args[1].split(separator: ":") {
    guard let byte = UInt8(part, radix: 16) else { fail("bad key byte '\(part)'") }
    key.append(byte)
}
var entries = [Int]()
for part in args[2].split(separator: ",") {
    guard let q = Int(part) else { fail("bad table entry '\(part)'") }
    entries.append(q)
}
guard let src = IPAddress(args[3]), let dst = IPAddress(args[4]) else { fail("bad address") }
guard let dport = UInt16(args[5]), let base = Int(args[6]), let count = Int(args[7]),
      base >= 0, count > 0, base + count <= 65536 else { fail("bad ports") }

do {
    let hasher = try ToeplitzHasher(key: key)
    let queues = (entries.max() ?? 0) + 1
    let table = try IndirectionTable(entries: entries, queueCount: max(queues, 1))
    let digits = Array("0123456789abcdef")
    var out = ""
    out.reserveCapacity(count)
    for i in 0..<count {
        let flow = FlowTuple(source: src, destination: dst, sourcePort: UInt16(base + i),
                             destinationPort: dport, proto: .udp)
        let queue = table[table.bucket(forHash: hasher.hash(flow))]
        out.append(queue < 16 ? digits[queue] : "?")
    }
    print(out)
} catch {
    fail("\(error)")
}
