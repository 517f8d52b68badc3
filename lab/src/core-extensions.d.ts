// Types of lab/build/js/core-extensions.js, which lab/prepare-core.mjs generates from
// JupyterLab's core metadata (it also imports every core package's styles).

/** A core package and a loader for its plugin module. */
export interface ICorePackage {
  readonly name: string;
  load(): Promise<unknown>;
}

export declare const extensions: readonly ICorePackage[];
export declare const mimeExtensions: readonly ICorePackage[];
