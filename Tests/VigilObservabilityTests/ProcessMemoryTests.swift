import Foundation
import Testing
import VigilObservability

/// `vigil bench loaded` reads Alertmanager's resident memory through `/proc/<pid>/status`.
@Suite struct ProcessMemoryTests {
    @Test func anotherProcessesMemoryIsReadByItsPidAndAGoneOneReadsZero() {
        let own = ProcessMemory.residentBytes(), byPid = ProcessMemory.residentBytes(of: getpid())
        #expect(own > 1_048_576 && byPid > 1_048_576)
        #expect(abs(own - byPid) < 64 * 1_048_576, "the same process read two ways: \(own) and \(byPid)")
        #expect(ProcessMemory.residentBytes(of: Int32.max) == 0, "no such process")
    }
}
