// swift-tools-version: 6.0
// Vigil: urgent alerts about threatened human rights defenders, routed to the people who can act.
// No SwiftPM package dependencies: the toolchain, plus four system C libraries.
import PackageDescription

let package = Package(
    name: "Vigil",
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
    ],
    targets: [
        // System C libraries, each wrapped once in the Swift module named beside it.
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CRdKafka", providers: [.apt(["librdkafka-dev"])]),

        // Logs and metrics: a `Logger` value over a `LogHandler`, the Prometheus registry; no dependencies.
        .target(name: "VigilObservability"),
        // The one bounded pool of threads for blocking work, and the one blocking wait; no dependencies.
        .target(name: "VigilConcurrency"),
        .target(name: "VigilCore"),
        .target(name: "VigilCrypto", dependencies: ["COpenSSL"]),
        // The embedded store, and the backend seam (`VigilBackend`, `AlertIntake`) every backend implements.
        .target(name: "VigilStore", dependencies: ["VigilConcurrency", "VigilCore", "VigilCrypto", "VigilObservability", "CSQLite"]),
        // librdkafka wrapped once, and the Kafka backend (its local caches live in VigilStore's tables).
        .target(name: "VigilKafka", dependencies: ["VigilConcurrency", "VigilCore", "VigilCrypto", "VigilObservability", "VigilStore", "CRdKafka"]),
        .target(name: "VigilDelivery", dependencies: ["VigilConcurrency", "VigilCore", "VigilCrypto", "VigilObservability", "CCurl"]),
        .target(name: "VigilHTTP", dependencies: ["VigilConcurrency", "VigilCore"]),
        // A blocking HTTP/1.1 client for tests and the benchmarks' load generators; the service never links it.
        .target(name: "VigilHTTPClient"),
        // The HTTP API over any backend: handlers, authentication, rate limits, replays.
        .target(
            name: "VigilAPI",
            dependencies: ["VigilCore", "VigilCrypto", "VigilObservability", "VigilStore", "VigilDelivery", "VigilHTTP"]
        ),
        // The web console (issue 20): server-rendered pages over the same code as the API.
        .target(
            name: "VigilConsole",
            dependencies: ["VigilConcurrency", "VigilCore", "VigilCrypto", "VigilObservability", "VigilStore", "VigilDelivery", "VigilHTTP", "VigilAPI"]
        ),
        // Configuration and the service assembly: the one place a backend is chosen.
        .target(
            name: "VigilServer",
            dependencies: [
                "VigilConcurrency", "VigilCore", "VigilCrypto", "VigilObservability", "VigilStore", "VigilKafka", "VigilDelivery", "VigilHTTP",
                "VigilAPI", "VigilConsole",
            ]
        ),
        // `vigil bench`: the measured scenarios, outside the service module.
        .target(
            name: "VigilBench",
            dependencies: [
                "VigilServer", "VigilAPI", "VigilConcurrency", "VigilCore", "VigilObservability", "VigilStore", "VigilKafka", "VigilDelivery",
                "VigilHTTP", "VigilHTTPClient",
            ]
        ),
        .executableTarget(name: "vigil", dependencies: ["VigilServer", "VigilBench", "VigilConcurrency", "VigilCore", "VigilStore", "VigilCrypto", "VigilKafka"]),

        .target(name: "VigilTestSupport", dependencies: ["VigilCore", "VigilCrypto", "VigilStore", "VigilObservability"], path: "Tests/VigilTestSupport"),

        .testTarget(name: "VigilObservabilityTests", dependencies: ["VigilObservability"]),
        .testTarget(name: "VigilConcurrencyTests", dependencies: ["VigilConcurrency"]),
        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore", "VigilTestSupport"]),
        .testTarget(name: "VigilCryptoTests", dependencies: ["VigilCrypto", "VigilTestSupport"]),
        .testTarget(name: "VigilStoreTests", dependencies: ["VigilStore", "VigilObservability", "VigilTestSupport"]),
        .testTarget(name: "VigilKafkaTests", dependencies: ["VigilKafka", "VigilStore", "VigilCore", "VigilCrypto", "VigilObservability", "VigilTestSupport"]),
        .testTarget(name: "VigilDeliveryTests", dependencies: ["VigilDelivery", "VigilObservability", "VigilTestSupport"]),
        .testTarget(name: "VigilHTTPTests", dependencies: ["VigilHTTP", "VigilConcurrency", "VigilHTTPClient", "VigilTestSupport"]),
        .testTarget(name: "VigilAPITests", dependencies: ["VigilAPI", "VigilStore", "VigilObservability", "VigilTestSupport"]),
        .testTarget(
            name: "VigilConsoleTests",
            dependencies: ["VigilConsole", "VigilServer", "VigilStore", "VigilCore", "VigilCrypto", "VigilHTTP", "VigilHTTPClient", "VigilObservability", "VigilTestSupport"]),
        .testTarget(name: "VigilServerTests", dependencies: ["VigilServer", "VigilObservability", "VigilTestSupport"]),
        .testTarget(name: "VigilBenchTests", dependencies: ["VigilBench", "VigilHTTPClient", "VigilTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["vigil", "VigilCore", "VigilHTTPClient", "VigilKafka", "VigilTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (issue 17 §2), one executable each, seen only when VIGIL_FUZZ is set so
// that ordinary builds and tests never compile them. deploy/fuzz.sh builds them with
// `-Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing` in their own scratch path, so
// every module they reach is instrumented and internal parsers are reachable through
// `@testable import`. (SwiftPM's `--sanitize fuzzer --sanitize address` passes two flags,
// and swiftc keeps only the last, which leaves the code without coverage instrumentation.)
if Context.environment["VIGIL_FUZZ"] != nil {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzHTTPRequestParser", ["VigilHTTP"]),
        ("FuzzJSONParser", ["VigilCore"]),
        ("FuzzSubmissionValidation", ["VigilCore"]),
        ("FuzzRetryAfter", ["VigilCore", "VigilHTTP", "VigilDelivery"]),
        ("FuzzKafkaRecords", ["VigilKafka", "VigilCrypto"]),
        ("FuzzCAPSubmission", ["VigilAPI", "VigilCore"]),
    ]
    package.targets.append(.target(name: "FuzzDriver", path: "Sources/FuzzDriver"))
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: target.name, dependencies: ["FuzzDriver"] + target.dependencies, path: "Sources/\(target.name)"))
    }
}
