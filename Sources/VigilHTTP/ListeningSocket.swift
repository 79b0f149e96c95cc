import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why the server could not start listening.
public enum HTTPServerError: Error, Sendable, CustomStringConvertible {
    /// The host did not resolve to an address.
    case cannotResolve(host: String)
    /// A socket call failed, with `errno`'s text.
    case socket(String)

    public var description: String {
        switch self {
        case .cannotResolve(let host): "cannot resolve '\(host)' to an address to listen on"
        case .socket(let what): what
        }
    }
}

/// A bound, listening, non-blocking TCP socket. All of the POSIX socket calls of the
/// server live here and in `HTTPConnection`.
struct ListeningSocket {
    let descriptor: Int32
    let port: Int

    init(host: String, port: Int, backlog: Int32 = 1024) throws(HTTPServerError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var info: UnsafeMutablePointer<addrinfo>?
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard getaddrinfo(bare, String(port), &hints, &info) == 0, let first = info else {
            throw .cannotResolve(host: host)
        }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket("socket(): \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .socket("cannot listen on \(host):\(port): \(reason)")
        }
        guard listen(fd, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .socket("listen(): \(reason)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let boundPort = withUnsafeMutablePointer(to: &storage) { pointer -> Int in
            _ = pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            if Int32(pointer.pointee.ss_family) == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
        descriptor = fd
        self.port = boundPort
    }

    /// Accepts one pending connection as a non-blocking socket with Nagle off.
    func accept() -> AcceptOutcome {
        let fd = Glibc.accept(descriptor, nil, nil)
        guard fd >= 0 else { return AcceptOutcome(errno: errno) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var yes: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        return .accepted(fd)
    }
}

/// What one `accept()` on the listening socket gave.
enum AcceptOutcome: Equatable {
    /// A new connection.
    case accepted(Int32)
    /// No connection is waiting (`EAGAIN`).
    case noneWaiting
    /// The process or the system has no descriptor (or memory) left for one (`EMFILE`,
    /// `ENFILE`, `ENOBUFS`, `ENOMEM`): the connection stays queued and the socket stays
    /// readable, so trying again at once would spin.
    case outOfDescriptors
    /// That one connection failed (aborted by its peer, a protocol error, a signal); the next
    /// may not.
    case connectionFailed
    /// Anything else, with `errno`.
    case failed(Int32)

    /// The outcome of a failed `accept()` with `errno`.
    init(errno code: Int32) {
        switch code {
        case EAGAIN, EWOULDBLOCK: self = .noneWaiting
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: self = .outOfDescriptors
        case ECONNABORTED, EINTR, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH:
            self = .connectionFailed
        default: self = .failed(code)
        }
    }
}

/// The accept loop's decisions, kept apart from the sockets so they can be tested alone.
///
/// The listening socket's readiness is level-triggered: while a connection is queued, it stays
/// readable. When `accept()` cannot take it for want of a descriptor, the loop must stop
/// listening for readiness for a while (`pauseSeconds`, or until a connection closes and frees
/// a descriptor), or it would spin on the same failure.
struct AcceptThrottle: Equatable {
    /// What the accept loop does next.
    enum Step: Equatable {
        /// Call `accept()` again now.
        case acceptNext
        /// Return and wait for the socket to be readable again.
        case waitForReadiness
        /// Stop watching the socket; watch it again after `seconds` (`resumeAfterPause`) or
        /// when a connection closes (`connectionClosed`), whichever comes first.
        case pause(seconds: Double)
    }

    /// How long accepting rests after running out of descriptors.
    static let pauseSeconds = 0.1
    /// Most connections taken per readiness event, so one burst does not hold the queue.
    static let acceptsPerWakeup = 256

    /// Whether accepting is paused.
    private(set) var paused = false
    /// How many `accept()` calls this wakeup has made.
    private var taken = 0
    /// Counts pauses, so a pause's late timer does not end a newer pause early.
    private(set) var pauseGeneration = 0

    /// The socket became readable: a new wakeup.
    mutating func wakeup() { taken = 0 }

    /// The step after one `accept()` gave `outcome`.
    mutating func step(after outcome: AcceptOutcome) -> Step {
        switch outcome {
        case .noneWaiting:
            return .waitForReadiness
        case .accepted, .connectionFailed:
            taken += 1
            return taken < AcceptThrottle.acceptsPerWakeup ? .acceptNext : .waitForReadiness
        case .outOfDescriptors, .failed:
            // Unknown failures pause too: never spin on something that may not go away.
            guard !paused else { return .waitForReadiness }
            paused = true
            pauseGeneration += 1
            return .pause(seconds: AcceptThrottle.pauseSeconds)
        }
    }

    /// The pause of `generation` is over; `true` when accepting should resume now.
    mutating func resumeAfterPause(generation: Int) -> Bool {
        guard paused, generation == pauseGeneration else { return false }
        paused = false
        return true
    }

    /// A connection closed and freed a descriptor; `true` when accepting should resume now.
    mutating func connectionClosed() -> Bool {
        guard paused else { return false }
        paused = false
        return true
    }
}
