/**
 * Runs the WebRTC mesh in the renderer (DESIGN section 1: renderer = transport) and bridges it
 * to the host: the host's `mesh.command` events drive it, and everything the mesh sees goes back
 * as `mesh.report` calls. Signatures, storage and signaling stay in the host; a frame received
 * here is only passed on, and the host verifies it.
 */
import type { MeshCommand, ParleyApi } from '../shared/api';
import { Mesh } from './mesh';
import { startFileBridge } from './mesh/file-bridge';

export interface MeshBridge { stop(): void }

/**
 * `onLost` is called when the host no longer knows this bridge's session (the host restarted),
 * so the caller can attach again; a `detach` command (another window took over) is final.
 */
export async function startMeshBridge(api: ParleyApi, onLost: () => void, RTC: typeof RTCPeerConnection = RTCPeerConnection): Promise<MeshBridge> {
  const { session, selfId, iceConfig, peers, discovery } = await api.call('mesh.attach', {});
  let active = true;
  const report = (args: Parameters<typeof api.call<'mesh.report'>>[1]): void => {
    if (!active) return;
    api.call('mesh.report', args).catch((err: { code?: string }) => {
      if (err.code !== 'MESH_DETACHED' || !active) return;
      stop();
      onLost();
    });
  };
  const mesh = new Mesh({
    selfId,
    RTCPeerConnection: RTC,
    iceServers: iceConfig,
    signaling: { send: (to, signal, payload) => report({ kind: 'signal', session, to, signal, payload }) },
    // The chain runs here; its host-backed steps are API calls (the headless peer runs the same Mesh).
    discovery: {
      ...discovery,
      host: {
        lookup: (userId, step, timeoutMs) => api.call('route.lookup', { userId, step, timeoutMs }),
        useRoute: async (userId, route) => {
          await api.call('route.use', { userId, route });
        },
        report: (trace) => {
          if (active) api.call('route.report', { session, trace }).catch(() => undefined);
        },
      },
    },
  });
  mesh.on('state', (e) => report({ kind: 'state', session, userId: e.userId, state: e.state, attempt: e.attempt }));
  mesh.on('open', (userId) => report({ kind: 'open', session, userId }));
  mesh.on('close', (userId) => report({ kind: 'close', session, userId }));
  mesh.on('frame', (userId, frame) => report({ kind: 'frame', session, userId, frame }));
  mesh.on('pair', (userId, pair) => report({ kind: 'pair', session, userId, pair }));
  const files = startFileBridge(mesh, (r) => (active ? api.call('mesh.report', { ...r, session } as Parameters<typeof api.call<'mesh.report'>>[1]) : Promise.resolve()));

  const offCommands = api.on('mesh.command', (cmd: MeshCommand) => {
    if (!active || cmd.session !== session) return;
    switch (cmd.op) {
      case 'connect': mesh.connect(cmd.userId); break;
      case 'retry': mesh.retry(cmd.userId); break;
      case 'disconnect': mesh.disconnect(cmd.userId); break;
      case 'routeFailed': mesh.routeFailed(cmd.userId); break;
      case 'send': mesh.send(cmd.userId, cmd.frame); break;
      case 'signal': void mesh.handleSignal(cmd.from, cmd.signal, cmd.payload); break;
      case 'detach': stop(); break;
      case 'ice': mesh.setIceServers(cmd.iceConfig); break;
      case 'file.open': case 'file.data': case 'file.close': files.handle(cmd); break;
    }
  });
  for (const userId of peers) mesh.connect(userId);

  function stop(): void {
    if (!active) return;
    active = false;
    offCommands();
    files.close();
    mesh.close();
  }
  return { stop };
}

/** Keeps one bridge attached for the page's lifetime, re-attaching after the host restarts. */
export function keepMeshBridge(api: ParleyApi, retryMs = 1000): void {
  const attach = (): void => {
    startMeshBridge(api, () => setTimeout(attach, retryMs)).catch(() => setTimeout(attach, retryMs));
  };
  attach();
}
