/// The durable queue of deliveries (DESIGN §2) as a backend provides it: the `deliveries`
/// table or Kafka's delivery topics. Each caller takes only the part it uses: routers a
/// `RoutingLedger` or `DeliveryRecorder`, replays a `ReplayQueue`, the status API and metrics
/// a `DeliveryLedger`, the workers a `DeliveryWorkQueue`, the API a `DeliveryRecorder` (for
/// the reports an acknowledgement sends).
public typealias DeliveryQueue = ReplayQueue & DeliveryLedger & DeliveryWorkQueue & DeliveryRecorder
