// What every libFuzzer target of Vigil shares (issue 17 §2): the entry point and the check.
// Built only with VIGIL_FUZZ set; see deploy/fuzz.sh.
#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's driver, called from our own `main` (SwiftPM links executables with theirs).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// Hands the process's arguments to libFuzzer, which calls `target` with each input (a
/// `nil` pointer for an empty one), and exits with libFuzzer's status.
public func runFuzzer(_ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argumentCount = CommandLine.argc
    var argumentValues = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, target))
}

/// A `precondition` whose message survives release builds, for the crash report.
public func check(_ condition: Bool, _ message: @autoclosure () -> String = "", line: UInt = #line) {
    if !condition { fatalError(message(), line: line) }
}
