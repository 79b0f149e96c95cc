import CCurl
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs every webhook POST of the process through one libcurl multi handle on one thread.
///
/// A blocking easy handle per send cost a thread per request in flight and a context
/// switch per event; here one thread waits on all sockets at once, and the multi handle's
/// shared connection cache keeps a kept-alive connection per receiver for whichever request
/// goes there next. It uses libcurl's socket interface (`curl_multi_socket_action`): libcurl
/// names the sockets it waits on and its next timeout, the thread `poll`s exactly those,
/// and libcurl then runs only the transfers whose socket is ready. `curl_multi_perform`
/// walked every running transfer at every wake-up and asked each socket again with a
/// `poll` of its own, three or four system calls per request sent. Completions run on that
/// thread and must be short: hand anything slow to a queue. Every `curl_multi_*` call of
/// Vigil lives here.
public final class CurlTransport: @unchecked Sendable {
    // @unchecked: `handOver` is a Mutex; every other variable is the loop thread's alone.
    /// The process's transport, started on first use.
    public static let shared = CurlTransport()

    private let multi: UnsafeMutableRawPointer
    /// What `post` hands the loop thread.
    private struct HandOver {
        /// Requests handed over and not yet added.
        var incoming: [CurlTransfer] = []
        /// Whether a byte is on its way through `wakeWrite` that the loop has not yet taken
        /// the requests for. One wake-up serves every `post` until then.
        var wakePending = false
    }

    private let handOver = Mutex(HandOver())
    /// A pipe whose read end the loop polls beside libcurl's sockets, so `post` can wake it.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// The sockets libcurl waits on, with the `poll` events it waits for; the loop thread's alone.
    private var watched: [curl_socket_t: Int16] = [:]
    /// When libcurl wants `CURL_SOCKET_TIMEOUT` handled (uptime nanoseconds), if it does;
    /// the loop thread's alone.
    private var timeoutAt: UInt64?
    /// Transfers running, by easy handle; the loop thread's alone.
    private var running: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    /// Easy handles kept for reuse (a reset keeps their DNS cache); the loop thread's alone.
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private static let idleCapacity = 256

    private init() {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        multi = curl_multi_init()
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) != 0 { fatalError("vigil: cannot create the webhook transport's wake-up pipe: errno \(errno)") }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        (wakeRead, wakeWrite) = (ends[0], ends[1])
        // Idle connections kept for reuse, over all receivers.
        _ = vigil_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 1024)
        // The transport lives as long as the process; the callbacks find it through their data.
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = vigil_curl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, context)
        _ = vigil_curl_multi_setopt_socket_function(multi) { _, socket, what, context, _ in
            Unmanaged<CurlTransport>.fromOpaque(context!).takeUnretainedValue().watch(socket, what: what)
            return 0
        }
        _ = vigil_curl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, context)
        _ = vigil_curl_multi_setopt_timer_function(multi) { _, milliseconds, context in
            Unmanaged<CurlTransport>.fromOpaque(context!).takeUnretainedValue().setTimeout(milliseconds)
            return 0
        }
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "vigil.curl"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Starts `request` and calls `completion` once, on the transport's thread, with the
    /// receiver's answer or why there was none.
    public func post(_ request: CurlRequest, completion: @escaping @Sendable (Result<HTTPOutcome, TransportError>) -> Void) {
        let transfer = CurlTransfer(request, completion: completion)
        let wake = handOver.withLock { state in
            state.incoming.append(transfer)
            defer { state.wakePending = true }
            return !state.wakePending
        }
        if wake {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
    }

    private func loop() {
        var stillRunning: Int32 = 0
        var drained = [UInt8](repeating: 0, count: 64)
        // One buffer of poll entries for every turn, grown when libcurl watches more sockets:
        // a Swift array here, made or emptied in each turn of this never-ending loop, kept a
        // new allocation per turn alive (heaptrack: 33,512 of them in 90 s at 200 alerts/s).
        var capacity = 64
        var sockets = UnsafeMutablePointer<pollfd>.allocate(capacity: capacity)
        while true {
            // Emptying the pipe before taking the requests: a byte written after this is
            // for requests the next turn takes.
            while read(wakeRead, &drained, drained.count) > 0 {}
            let added = handOver.withLock { state -> [CurlTransfer] in
                state.wakePending = false
                defer { state.incoming.removeAll(keepingCapacity: true) }
                return state.incoming
            }
            for transfer in added { add(transfer) }
            if let due = timeoutAt, due <= DispatchTime.now().uptimeNanoseconds {
                timeoutAt = nil
                _ = curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &stillRunning)
                finishDone()
            }
            let count = watched.count + 1
            if count > capacity {
                sockets.deallocate()
                capacity = max(count, capacity * 2)
                sockets = .allocate(capacity: capacity)
            }
            sockets[0] = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
            var filled = 1
            for (socket, events) in watched {
                sockets[filled] = pollfd(fd: socket, events: events, revents: 0)
                filled += 1
            }
            // Sleeps until a socket is ready, libcurl's next timeout, or `post` writes a byte.
            guard poll(sockets, nfds_t(count), waitMilliseconds()) > 0 else { continue }
            for index in 1..<count where sockets[index].revents != 0 {
                let (socket, revents) = (sockets[index].fd, sockets[index].revents)
                var mask: Int32 = 0
                if revents & Int16(POLLIN) != 0 { mask |= CURL_CSELECT_IN }
                if revents & Int16(POLLOUT) != 0 { mask |= CURL_CSELECT_OUT }
                if revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { mask |= CURL_CSELECT_ERR }
                _ = curl_multi_socket_action(multi, socket, mask, &stillRunning)
            }
            finishDone()
        }
    }

    /// Milliseconds until libcurl's timeout, at most a second (nothing is lost by waking).
    private func waitMilliseconds() -> Int32 {
        guard let due = timeoutAt else { return 1000 }
        let now = DispatchTime.now().uptimeNanoseconds
        guard due > now else { return 0 }
        let gap = due - now
        return Int32(min(1000, gap / 1_000_000 + (gap % 1_000_000 == 0 ? 0 : 1)))
    }

    /// libcurl's socket callback: what to wait for on `socket` from now on.
    private func watch(_ socket: curl_socket_t, what: Int32) {
        switch what {
        case CURL_POLL_IN: watched[socket] = Int16(POLLIN)
        case CURL_POLL_OUT: watched[socket] = Int16(POLLOUT)
        case CURL_POLL_INOUT: watched[socket] = Int16(POLLIN | POLLOUT)
        default: watched.removeValue(forKey: socket)  // CURL_POLL_REMOVE
        }
    }

    /// libcurl's timer callback: `-1` for none, otherwise in how many milliseconds to tell
    /// it the time is up.
    private func setTimeout(_ milliseconds: Int) {
        guard milliseconds >= 0 else { return timeoutAt = nil }
        // Saturating: libcurl's timeouts follow the configuration, which may be huge.
        let (nanoseconds, overflow) = UInt64(milliseconds).multipliedReportingOverflow(by: 1_000_000)
        let (due, late) = DispatchTime.now().uptimeNanoseconds.addingReportingOverflow(overflow ? .max : nanoseconds)
        timeoutAt = late ? .max : due
    }

    /// Hands every finished transfer its outcome.
    private func finishDone() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            finish(handle, code: vigil_curl_msg_result(message))
        }
    }

    private func add(_ transfer: CurlTransfer) {
        let handle: UnsafeMutableRawPointer
        if let idle = idleHandles.popLast() {
            curl_easy_reset(idle)
            handle = idle
        } else if let fresh = curl_easy_init() {
            handle = fresh
        } else {
            transfer.completion(.failure(.failed(.notStarted, afterMilliseconds: 0)))
            return
        }
        transfer.configure(handle)
        // Adding sets libcurl's timeout to now; the loop's next turn starts the request.
        guard curl_multi_add_handle(multi, handle) == CURLM_OK else {
            idleHandles.append(handle)
            transfer.completion(.failure(.failed(.notStarted, afterMilliseconds: 0)))
            return
        }
        running[handle] = transfer
    }

    private func finish(_ handle: UnsafeMutableRawPointer, code: CURLcode) {
        _ = curl_multi_remove_handle(multi, handle)
        guard let transfer = running.removeValue(forKey: handle) else { return }
        let outcome = transfer.outcome(code, handle: handle)
        if idleHandles.count < Self.idleCapacity { idleHandles.append(handle) } else { curl_easy_cleanup(handle) }
        transfer.completion(outcome)
    }
}
