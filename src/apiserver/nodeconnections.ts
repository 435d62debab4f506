/**
 * How the API server reaches node agents for the pod subresources a kubelet answers (log, exec,
 * attach, portforward).
 *
 * kube-apiserver dials the kubelet's HTTPS port and proxies the request (and, for exec/attach/
 * portforward, the upgraded connection) to it. kubelite's agent runs in the same process as the
 * API server, so instead of a network hop an agent registers a handler for its node name here and
 * the API server hands it the request after authentication, routing and the pod lookup — the
 * same split of responsibilities, without a second TLS listener. A remote agent would register a
 * handler that proxies over HTTP; nothing in the API server would change.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { KObject } from '../api/types.js';

export type StreamingSubresource = 'exec' | 'attach' | 'portforward';

/** The raw upgraded connection as node's http server hands it over. */
export interface UpgradeConnection {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
}

export interface NodeStreamingHandler {
  /**
   * Answers `GET pods/<name>/log` for a pod bound to this node. Rejects with a StatusError for
   * bad parameters or a container with no logs (the API server turns it into a metav1.Status);
   * once it has started writing the body it must end the response itself.
   */
  logs(pod: KObject, query: URLSearchParams, res: ServerResponse): Promise<void>;
  /**
   * Takes over an upgraded connection for exec, attach or portforward. Rejects with a
   * StatusError before anything was written to the socket when the request cannot be served
   * (unknown container, container not running); after the protocol handshake it owns the socket.
   */
  upgrade(sub: StreamingSubresource, pod: KObject, query: URLSearchParams, conn: UpgradeConnection): Promise<void>;
}

/** Node name → the agent that serves it. */
export class NodeConnections {
  private readonly handlers = new Map<string, NodeStreamingHandler>();

  /** Registers the handler for a node; returns the unregister function. */
  register(nodeName: string, handler: NodeStreamingHandler): () => void {
    this.handlers.set(nodeName, handler);
    return () => {
      if (this.handlers.get(nodeName) === handler) this.handlers.delete(nodeName);
    };
  }

  get(nodeName: string): NodeStreamingHandler | undefined {
    return this.handlers.get(nodeName);
  }
}
