import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection that is too slow to send its request: the first head must arrive
/// within `headTimeout` of the connection opening, and each body within `bodyTimeout` of its
/// head. (Between requests on a kept-alive connection, Hummingbird's idle timeout applies.)
///
/// Hummingbird's idle timeout counts only whole HTTP parts as activity: a client that
/// sends a byte a second never completes a head, so it is closed by the idle timeout
/// alone, but only after that (longer) timeout; and one that trickles a body keeps the
/// connection, and a request task, alive as long as it likes. With a connection cap, a few
/// hundred such clients would otherwise keep everyone else out.
///
/// Sits after the HTTP decoder, so it sees a head only once all of it has arrived.
final class RequestTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(headTimeout, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(headTimeout, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            arm(bodyTimeout, context: context)
        case .body:
            break
        case .end:
            disarm()  // the request is read; answering it is the server's business
        }
        context.fireChannelRead(data)
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
