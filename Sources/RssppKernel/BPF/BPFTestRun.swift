// SPDX-License-Identifier: Apache-2.0
import CLibbpf
import Glibc
import RssppCore

/// BPF_PROG_TEST_RUN: runs a loaded program on a frame in the calling thread, without an
/// interface. For tests and benchmarks. Device-bound programs cannot be test-run.
public enum BPFTestRun {
    public struct Result: Sendable, Hashable {
        /// The program's return value (XDP_PASS = 2, TC_ACT_UNSPEC = -1 as UInt32 ...).
        public var retval: UInt32
        /// The kernel's mean time per repetition, in nanoseconds.
        public var durationNs: UInt32
    }

    /// Runs `programFD` on `frame` `repeatCount` times.
    /// - Parameter ingressIfindex: for XDP, the device `rx_queue_index` refers to (0: none).
    public static func run(programFD: Int32, frame: [UInt8], repeatCount: UInt32 = 1,
                           xdpIngressIfindex: UInt32 = 0) throws(RssppError) -> Result {
        var out = [UInt8](repeating: 0, count: frame.count + 256)
        var ctx = xdp_md()
        ctx.ingress_ifindex = xdpIngressIfindex
        var result = Result(retval: 0, durationNs: 0)
        let rc: Int32 = frame.withUnsafeBytes { inBuf in
            out.withUnsafeMutableBytes { outBuf in
                withUnsafeMutableBytes(of: &ctx) { ctxBuf in
                    withZeroed(bpf_test_run_opts.self) { opts in
                        opts.pointee.sz = MemoryLayout<bpf_test_run_opts>.size
                        opts.pointee.repeat = Int32(bitPattern: repeatCount)
                        opts.pointee.data_in = inBuf.baseAddress
                        opts.pointee.data_size_in = UInt32(inBuf.count)
                        opts.pointee.data_out = outBuf.baseAddress
                        opts.pointee.data_size_out = UInt32(outBuf.count)
                        if xdpIngressIfindex != 0 {
                            opts.pointee.ctx_in = UnsafeRawPointer(ctxBuf.baseAddress)
                            opts.pointee.ctx_size_in = UInt32(ctxBuf.count)
                        }
                        let rc = bpf_prog_test_run_opts(programFD, opts)
                        result = Result(retval: opts.pointee.retval, durationNs: opts.pointee.duration)
                        return rc
                    }
                }
            }
        }
        guard rc == 0 else { throw BPFErrno.error(rc, doing: "BPF_PROG_TEST_RUN") }
        return result
    }
}
