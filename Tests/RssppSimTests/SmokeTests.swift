import Testing
import RssppSim
@Test func simTargetBuilds() { #expect(Bool(true)) }
