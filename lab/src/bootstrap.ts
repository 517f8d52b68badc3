// Entry point of the core bundle. It loads the prebuilt (federated) extensions' remote entries
// and joins them to the `default` share scope before any shared module is used, so webpack can
// pick one version of each shared package across the core and every extension. Nothing here may
// import a shared package (e.g. @jupyterlab/coreutils) statically: the app code in main.ts is
// loaded only once all containers are initialised.
import type { IFederatedExtension } from './types';

// webpack compiles assignments to this free variable into its runtime's public path.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
declare let __webpack_public_path__: string;
declare function __webpack_init_sharing__(scope: string): Promise<void>;
declare const __webpack_share_scopes__: Record<string, unknown>;

const SHARE_SCOPE = 'default';

function readPageConfig(): Record<string, unknown> {
  const element = document.getElementById('jupyter-config-data');
  return element ? (JSON.parse(element.textContent || '{}') as Record<string, unknown>) : {};
}

function loadScript(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.async = true;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`Failed to load ${url}`));
    script.src = url;
    document.head.appendChild(script);
  });
}

async function initContainer(baseUrl: string, extension: IFederatedExtension): Promise<void> {
  await loadScript(`${baseUrl}/${extension.name}/${extension.load}`);
  const container = window._JUPYTERLAB?.[extension.name];
  if (!container) {
    throw new Error(`${extension.name}: its remote entry registered no container`);
  }
  await container.init(__webpack_share_scopes__[SHARE_SCOPE]);
}

async function bootstrap(): Promise<void> {
  const config = readPageConfig();
  // Lazy chunks are served from the static URL the server chose, whatever the page URL is.
  __webpack_public_path__ = `${String(config.fullStaticUrl ?? '')}/`;

  const baseUrl = String(config.fullLabextensionsUrl ?? '');
  const federated = Array.isArray(config.federated_extensions)
    ? (config.federated_extensions as IFederatedExtension[])
    : [];

  await __webpack_init_sharing__(SHARE_SCOPE);
  const results = await Promise.allSettled(federated.map(ext => initContainer(baseUrl, ext)));
  const loaded = federated.filter((ext, i) => {
    const result = results[i];
    if (result.status === 'rejected') {
      console.error(`Extension ${ext.name} could not be loaded:`, result.reason);
      return false;
    }
    return true;
  });

  const { main } = await import('./main.js');
  if (document.readyState === 'complete') {
    await main(loaded);
  } else {
    window.addEventListener('load', () => void main(loaded), { once: true });
  }
}

bootstrap().catch(error => console.error('JupyterLab failed to start:', error));
