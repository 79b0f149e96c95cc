import CCurl
import Foundation

/// Runs every webhook POST of the process through one libcurl multi handle on one thread.
///
/// A blocking easy handle per send cost a thread per request in flight and a context
/// switch per event; here one thread waits on all sockets at once (`curl_multi_poll`), and
/// the multi handle's shared connection cache keeps a kept-alive connection per receiver
/// for whichever request goes there next. Completions run on that thread and must be
/// short: hand anything slow to a queue. Every `curl_multi_*` call of Vigil lives here.
public final class CurlTransport: @unchecked Sendable {
    /// The process's transport, started on first use.
    public static let shared = CurlTransport()

    private let multi: UnsafeMutableRawPointer
    private let lock = NSLock()
    /// Requests handed over and not yet added; guarded by `lock`.
    private var incoming: [CurlTransfer] = []
    /// Transfers running, by easy handle; the loop thread's alone.
    private var running: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    /// Easy handles kept for reuse (a reset keeps their DNS cache); the loop thread's alone.
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private static let idleCapacity = 256

    private init() {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        multi = curl_multi_init()
        // Idle connections kept for reuse, over all receivers.
        _ = vigil_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 1024)
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "vigil.curl"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Starts `request` and calls `completion` once, on the transport's thread, with the
    /// receiver's answer or why there was none.
    public func post(_ request: CurlRequest, completion: @escaping @Sendable (Result<HTTPOutcome, TransportError>) -> Void) {
        let transfer = CurlTransfer(request, completion: completion)
        lock.withLock { incoming.append(transfer) }
        _ = curl_multi_wakeup(multi)
    }

    private func loop() {
        var stillRunning: Int32 = 0
        while true {
            let added = lock.withLock { () -> [CurlTransfer] in
                defer { incoming.removeAll(keepingCapacity: true) }
                return incoming
            }
            for transfer in added { add(transfer) }
            _ = curl_multi_perform(multi, &stillRunning)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
                finish(handle, code: vigil_curl_msg_result(message))
            }
            // Sleeps until a socket is ready, curl's next timeout, or `post` wakes it.
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
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
            transfer.completion(.failure(.failed("libcurl could not start a request")))
            return
        }
        transfer.configure(handle)
        guard curl_multi_add_handle(multi, handle) == CURLM_OK else {
            idleHandles.append(handle)
            transfer.completion(.failure(.failed("libcurl could not start a request")))
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
