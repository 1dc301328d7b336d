import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection that is too slow to send a request: each request's head must have
/// arrived within `headTimeout` of its first bytes (of the connection opening, for the
/// first), and its body within `bodyTimeout` of its head. Between requests on a kept-alive
/// connection nothing is sent, and Hummingbird's idle timeout applies.
///
/// Hummingbird's idle timeout counts only whole HTTP parts as activity: a client that
/// sends a byte a second never completes a head, so it is closed by the idle timeout
/// alone, but only after that (longer) timeout; and one that trickles a body keeps the
/// connection, and a request task, alive as long as it likes. With a connection cap, a few
/// hundred such clients would otherwise keep everyone else out.
///
/// Sits after the HTTP decoder, so it sees a head only once all of it has arrived. That a
/// later head has *begun* shows as a read that decoded nothing: the decoder passes on the
/// end of every socket read (`channelReadComplete`), with or without a decoded part.
final class RequestTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private enum State {
        /// Before a head is complete: the head timeout runs.
        case awaitingHead
        /// Between head and end: the body timeout runs.
        case awaitingEnd
        /// The last request is read and no byte of the next has come: no timer.
        case betweenRequests
    }

    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var state = State.awaitingHead
    /// Whether the current socket read decoded any part.
    private var decodedThisRead = false

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
        decodedThisRead = true
        switch unwrapInboundIn(data) {
        case .head:
            state = .awaitingEnd
            arm(bodyTimeout, context: context)
        case .body:
            break
        case .end:
            state = .betweenRequests
            disarm()  // the request is read; answering it is the server's business
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Bytes came and made no part: the next request's head has begun.
        if state == .betweenRequests, !decodedThisRead {
            state = .awaitingHead
            arm(headTimeout, context: context)
        }
        decodedThisRead = false
        context.fireChannelReadComplete()
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
