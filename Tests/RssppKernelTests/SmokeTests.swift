import Testing
import RssppKernel
@Test func kernelTargetBuilds() { #expect(Bool(true)) }
