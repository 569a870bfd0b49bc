import { StrictMode, useEffect, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { chooseClient, type UiClient } from './api/client';
import { App } from './components/App';
import { keepMeshBridge } from './mesh-bridge';
import { StoreContext } from './state/context';
import { createUiStore, type UiStore } from './state/store';
import { createFilesStore, FilesContext } from './state/files';
import './styles.css';

function Root({ client, store }: { client: UiClient; store: UiStore }) {
  const transport = useSyncExternalStore(client.onTransport, client.transport);
  useEffect(() => {
    void store.getState().start();
    return () => store.getState().stop();
  }, [store]);
  return (
    <StoreContext.Provider value={store}>
      <FilesContext.Provider value={files}>
        <App transport={transport} />
      </FilesContext.Provider>
    </StoreContext.Provider>
  );
}

const client = chooseClient();
const store = createUiStore(client.api);
// Web mode: the same token guards the web server's upload and download routes; Electron sends a
// dropped or picked file by its path on disk, which only the preload can tell.
const files = createFilesStore(client.api, { token: client.mode === 'web' ? sessionStorage.getItem('parley.token') : null, pathOf: client.pathOf },
  (text) => store.getState().notify('error', text));
// The WebRTC connections live here, in the page; the host keeps keys, storage and signaling.
keepMeshBridge(client.api);
document.documentElement.dataset.mode = client.mode;
const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <Root client={client} store={store} />
  </StrictMode>,
);
