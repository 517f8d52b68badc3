import { WarmInfo } from '../../src/protocol/api';
import { Kernel } from '../kernel/kernel';
import { KernelSpec } from '../kernel/kernelspec';
import { warn } from '../log';
import { callRank } from './rank-calls';

/**
 * A spare starts right after its group did, with the same kernelspec, so it should answer as fast
 * as the ranks did; one that has not answered in this long is stuck and is dropped.
 */
const SPARE_READY_TIMEOUT_MS = 60_000;

/** How spares are started; a spare is only handed to a group whose ranks would start the same way. */
export interface SpareRecipe {
  spec: KernelSpec;
  cwd: string;
  /** The environment every rank of the group shares (sharedEnvironment()). */
  env: Record<string, string>;
}

export interface WarmPoolOptions {
  /** Private (0700) folder for connection files. */
  runtimeDir: string;
  /** Python that runs the process guard. */
  python: string;
}

interface Spare {
  abort: AbortController;
  /** Set once it has answered (its start-up handshake is done). */
  kernel: Kernel | null;
  /** Resolves with the kernel once it has answered and warmed up. */
  ready: Promise<Kernel>;
  warm: boolean;
}

/**
 * Spare kernels that have already done the slow part of a rank's start (spawning Python, importing
 * torch), kept running in the background so that a restart only has to hand them their ranks.
 * Spares run under the process guard like ranks, print nowhere and belong to no group until one
 * takes them. A spare that dies is dropped and replaced; one that fails to start or warm up is
 * dropped only, so that a broken kernelspec cannot spin.
 */
export class WarmPool {
  private _spares: Spare[] = [];
  private _key: string | null = null;
  private _recipe: SpareRecipe | null = null;
  private _size = 0;
  private _started = 0;
  /** Set while the spares are kept for a start that has not come yet (fill's `idleMs`). */
  private _expiry: { at: number; timer: NodeJS.Timeout } | null = null;

  constructor(private readonly _options: WarmPoolOptions) {}

  /**
   * Keep `size` spares of `recipe`, starting the missing ones now; other recipes' spares end.
   * With `idleMs`, they all end that long from now unless a start takes one first (warming before
   * any group started); without, they are kept until cleared.
   */
  fill(recipe: SpareRecipe, size: number, idleMs?: number): void {
    const key = recipeKey(recipe);
    if (key !== this._key) {
      void this.clear();
      this._key = key;
      this._recipe = recipe;
    }
    this._size = size;
    this._setExpiry(idleMs);
    this._topUp();
  }

  /**
   * A spare of `recipe`, now the caller's to adopt or kill: a warm one, else one that has answered
   * and is still importing torch. A spare that has not answered yet is never handed out: it may
   * never answer, and a rank should start a kernel of its own rather than wait to find out.
   * Undefined when there is none; the promise rejects if the spare dies or fails to warm up.
   */
  take(recipe: SpareRecipe): Promise<Kernel> | undefined {
    if (recipeKey(recipe) !== this._key) {
      return undefined;
    }
    const index = [
      this._spares.findIndex(s => s.warm),
      this._spares.findIndex(s => s.kernel !== null)
    ].find(i => i >= 0);
    if (index === undefined) {
      return undefined;
    }
    this._setExpiry(undefined); // a group is starting on them: its own start refills the pool
    return this._spares.splice(index, 1)[0].ready;
  }

  /** What the pool keeps now. */
  info(): WarmInfo {
    return {
      kernelName: this._recipe?.spec.name ?? null,
      size: this._size,
      spares: this._spares.length,
      warm: this._spares.filter(s => s.warm).length,
      expiresAt: this._expiry?.at ?? null
    };
  }

  /** Resolves once every spare now in the pool is warm (or gone); gives how many are warm. */
  async settled(): Promise<number> {
    await Promise.allSettled(this._spares.map(s => s.ready));
    return this._spares.filter(s => s.warm).length;
  }

  /** End every spare and keep none until the next fill(). */
  async clear(): Promise<void> {
    const ending = this._spares;
    this._spares = [];
    this._size = 0;
    this._key = null;
    this._recipe = null;
    this._setExpiry(undefined);
    await Promise.all(ending.map(end));
  }

  private _setExpiry(idleMs: number | undefined): void {
    if (this._expiry) {
      clearTimeout(this._expiry.timer);
      this._expiry = null;
    }
    if (idleMs !== undefined) {
      const timer = setTimeout(() => void this.clear(), idleMs);
      timer.unref(); // the server's exit ends the spares anyway
      this._expiry = { at: Date.now() + idleMs, timer };
    }
  }

  /** Start the missing spares, end those over the size. */
  private _topUp(): void {
    while (this._spares.length < this._size) {
      this._spawn();
    }
    for (const extra of this._spares.splice(this._size)) {
      void end(extra);
    }
  }

  private _spawn(): void {
    const spare = { abort: new AbortController(), kernel: null, warm: false } as Spare;
    spare.ready = this._start(spare, this._recipe!);
    spare.ready.catch((err: Error) => {
      // Dropped while still in the pool is a failure worth a word; taken or cleared is not.
      if (this._drop(spare) && !spare.abort.signal.aborted) {
        warn(`a warm spare kernel was dropped: ${err.message}`);
      }
    });
    this._spares.push(spare);
  }

  private async _start(spare: Spare, recipe: SpareRecipe): Promise<Kernel> {
    const kernel = await Kernel.start({
      spec: recipe.spec,
      label: `spare ${++this._started}`,
      runtimeDir: this._options.runtimeDir,
      cwd: recipe.cwd,
      env: recipe.env,
      python: this._options.python,
      onIopub: () => undefined,
      signal: spare.abort.signal,
      readyTimeoutMs: SPARE_READY_TIMEOUT_MS
    });
    spare.kernel = kernel;
    void kernel.exited.then(() => this._onExit(spare));
    try {
      spare.abort.signal.throwIfAborted();
      // Import torch (a failure drops the spare); this also installs the rank module.
      await callRank(kernel, 'warm', {});
    } catch (err) {
      await kernel.kill();
      throw err;
    }
    spare.warm = true;
    return kernel;
  }

  /** A spare died: if it was still in the pool, close its channels and replace it if it was warm. */
  private _onExit(spare: Spare): void {
    if (!this._drop(spare)) {
      return; // taken (its owner handles it) or cleared
    }
    void spare.kernel!.kill();
    if (spare.warm) {
      this._topUp();
    }
  }

  private _drop(spare: Spare): boolean {
    const index = this._spares.indexOf(spare);
    if (index >= 0) {
      this._spares.splice(index, 1);
    }
    return index >= 0;
  }
}

/** Kill a spare (abort it if it is still starting); resolves once it is gone. */
async function end(spare: Spare): Promise<void> {
  spare.abort.abort();
  await spare.kernel?.kill();
  await spare.ready.catch(() => undefined);
}

function recipeKey(recipe: SpareRecipe): string {
  const { spec, cwd, env } = recipe;
  return JSON.stringify([spec.name, spec.argv, spec.env, spec.resourceDir, cwd, env]);
}
