import Foundation
import VigilServer

extension VigilConfiguration {
    /// What a bench's service starts from: the defaults with this process's `VIGIL_*`
    /// variables applied, so a setting can be measured (`VIGIL_STORE_CACHE_MIB=32 vigil bench
    /// fanout`); each bench then sets what it needs itself (address, data directory, token).
    static func forBenchmark() throws -> VigilConfiguration {
        try VigilConfiguration.load(file: nil, environment: ProcessInfo.processInfo.environment)
    }
}
