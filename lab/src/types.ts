/**
 * One entry of the page config's `federated_extensions`, as jupyterlab_server lists the prebuilt
 * extensions it found in the labextensions paths (from their package.json `jupyterlab._build`).
 */
export interface IFederatedExtension {
  readonly name: string;
  /** The remote entry script, relative to the extension's folder. */
  readonly load: string;
  readonly extension?: string;
  readonly mimeExtension?: string;
  readonly style?: string;
}

/** A webpack module federation container, as a remote entry script registers it. */
export interface IFederatedContainer {
  init(shareScope: unknown): Promise<void> | void;
  get(module: string): Promise<() => unknown>;
}

declare global {
  interface Window {
    /** Where prebuilt extensions' remote entries register their containers (library name). */
    _JUPYTERLAB?: Record<string, IFederatedContainer | undefined>;
  }
}
