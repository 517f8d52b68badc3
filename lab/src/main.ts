// The JupyterLab application: gathers the core plugins and those of the prebuilt extensions,
// honours the page config's disabled and deferred extensions, and starts the app.
import { JupyterLab, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { IConnectionStatus, IServiceManager } from '@jupyterlab/services';
import { PluginRegistry } from '@lumino/coreutils';

import { extensions, mimeExtensions, type ICorePackage } from './core-extensions.js';
import type { IFederatedExtension } from './types.js';

// What the app needs to know of any plugin, application or mime (mime ones have only id and description).
type PluginInfo = { readonly id: string } & Partial<
  Pick<
    JupyterFrontEndPlugin<unknown>,
    'description' | 'requires' | 'optional' | 'provides' | 'autoStart'
  >
>;

/** A plugin module as loaded, tagged with the package it came from. */
interface ILoadedModule {
  readonly packageName: string;
  readonly exports: unknown;
}

/**
 * Loads one plugin (or style) module. A failure is reported and gives null, so that one broken
 * extension cannot stop the app.
 */
async function loadModule(
  packageName: string,
  module: string,
  load: () => Promise<unknown>
): Promise<ILoadedModule | null> {
  try {
    return { packageName, exports: await load() };
  } catch (error) {
    console.error(`Failed to load ${module} of ${packageName}:`, error);
    return null;
  }
}

function loadCore(pkg: ICorePackage): Promise<ILoadedModule | null> {
  return loadModule(pkg.name, 'the plugins', () => pkg.load());
}

function loadFederated(name: string, module: string): Promise<ILoadedModule | null> {
  return loadModule(name, module, async () => {
    const container = window._JUPYTERLAB?.[name];
    if (!container) {
      throw new Error('no federated container');
    }
    const factory = await container.get(module);
    return factory();
  });
}

async function loaded(modules: Promise<ILoadedModule | null>[]): Promise<ILoadedModule[]> {
  return (await Promise.all(modules)).filter(module => module !== null);
}

/** The plugins a module exports: its default export (ES modules) or itself (CommonJS). */
function pluginsOf<T>(exports: unknown): T[] {
  const value =
    exports !== null && typeof exports === 'object' && 'default' in exports
      ? (exports as { default: unknown }).default
      : exports;
  return (Array.isArray(value) ? value : [value]) as T[];
}

// JupyterLab reads a mime module's `default` only when the module is marked as an ES module.
function asMimeModule(plugins: IRenderMime.IExtension[]): IRenderMime.IExtensionModule {
  return Object.defineProperty({ default: plugins }, '__esModule', { value: true });
}

class PluginCollector {
  readonly disabled: string[] = [];
  readonly deferred: string[] = [];
  readonly available: JupyterLab.IPluginInfo[] = [];

  /** The enabled plugins of the modules, recording every plugin's state on the way. */
  collect<T extends PluginInfo>(modules: ILoadedModule[]): T[] {
    const enabled: T[] = [];
    for (const { packageName, exports } of modules) {
      for (const plugin of pluginsOf<T>(exports)) {
        if (typeof plugin?.id !== 'string') {
          console.error(`${packageName} exports something that is not a plugin:`, plugin);
          continue;
        }
        const isDisabled = PageConfig.Extension.isDisabled(plugin.id);
        this.available.push({
          id: plugin.id,
          description: plugin.description,
          requires: plugin.requires ?? [],
          optional: plugin.optional ?? [],
          provides: plugin.provides ?? null,
          autoStart: plugin.autoStart,
          enabled: !isDisabled,
          extension: packageName
        });
        if (isDisabled) {
          this.disabled.push(plugin.id);
          continue;
        }
        if (PageConfig.Extension.isDeferred(plugin.id)) {
          this.deferred.push(plugin.id);
        }
        enabled.push(plugin);
      }
    }
    return enabled;
  }
}

export async function main(federated: IFederatedExtension[]): Promise<void> {
  // A prebuilt extension named like a core package replaces it.
  const replaced = new Set(
    federated.filter(ext => ext.extension || ext.mimeExtension).map(ext => ext.name)
  );
  const core = (list: readonly ICorePackage[]) =>
    loaded(list.filter(pkg => !replaced.has(pkg.name)).map(loadCore));
  const fromFederated = (key: 'extension' | 'mimeExtension' | 'style') =>
    loaded(
      federated.flatMap(ext => {
        const module = ext[key];
        const skip = key === 'style' && PageConfig.Extension.isDisabled(ext.name);
        return module && !skip ? [loadFederated(ext.name, module)] : [];
      })
    );

  const [coreMime, fedMime, coreExt, fedExt] = await Promise.all([
    core(mimeExtensions),
    fromFederated('mimeExtension'),
    core(extensions),
    fromFederated('extension'),
    fromFederated('style')
  ]);

  const collector = new PluginCollector();
  const mimePlugins = collector.collect<IRenderMime.IExtension>([...coreMime, ...fedMime]);
  const appPlugins = collector.collect<JupyterFrontEndPlugin<unknown>>([...coreExt, ...fedExt]);

  const pluginRegistry = new PluginRegistry();
  for (const plugin of appPlugins) {
    try {
      pluginRegistry.registerPlugin(plugin);
    } catch (error) {
      console.error(`Plugin ${plugin.id} could not be registered:`, error);
    }
  }

  // Plugins may provide the service manager and connection status; JupyterLab makes its own otherwise.
  const serviceManager = await pluginRegistry.resolveOptionalService(IServiceManager);
  const connectionStatus = await pluginRegistry.resolveOptionalService(IConnectionStatus);

  const lab = new JupyterLab({
    pluginRegistry,
    serviceManager: serviceManager ?? undefined,
    connectionStatus: connectionStatus ?? undefined,
    mimeExtensions: [asMimeModule(mimePlugins)],
    disabled: { matches: collector.disabled, patterns: PageConfig.Extension.disabled },
    deferred: { matches: collector.deferred, patterns: PageConfig.Extension.deferred },
    availablePlugins: collector.available
  });
  // Browser tests reach the app through `window.jupyterapp`, as in JupyterLab.
  if (PageConfig.getOption('exposeAppInBrowser').toLowerCase() === 'true') {
    (window as unknown as { jupyterapp: JupyterLab }).jupyterapp = lab;
  }
  await lab.start({ ignorePlugins: collector.deferred, bubblingKeydown: true });
}
