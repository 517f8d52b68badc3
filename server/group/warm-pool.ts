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
  private spares: Spare[] = [];
  private key: string | null = null;
  private recipe: SpareRecipe | null = null;
  private size = 0;
  private started = 0;

  constructor(private readonly options: WarmPoolOptions) {}

  /** Keep `size` spares of `recipe`, starting the missing ones now; other recipes' spares end. */
  fill(recipe: SpareRecipe, size: number): void {
    const key = recipeKey(recipe);
    if (key !== this.key) {
      void this.clear();
      this.key = key;
      this.recipe = recipe;
    }
    this.size = size;
    while (this.spares.length < this.size) {
      this.spawn();
    }
    for (const extra of this.spares.splice(this.size)) {
      void end(extra);
    }
  }

  /**
   * A spare of `recipe`, now the caller's to adopt or kill: a warm one, else one that has answered
   * and is still importing torch. A spare that has not answered yet is never handed out: it may
   * never answer, and a rank should start a kernel of its own rather than wait to find out.
   * Undefined when there is none; the promise rejects if the spare dies or fails to warm up.
   */
  take(recipe: SpareRecipe): Promise<Kernel> | undefined {
    if (recipeKey(recipe) !== this.key) {
      return undefined;
    }
    const index = [
      this.spares.findIndex(s => s.warm),
      this.spares.findIndex(s => s.kernel !== null)
    ].find(i => i >= 0);
    return index === undefined ? undefined : this.spares.splice(index, 1)[0].ready;
  }

  /** Resolves once every spare now in the pool is warm (or gone); gives how many are warm. */
  async settled(): Promise<number> {
    await Promise.allSettled(this.spares.map(s => s.ready));
    return this.spares.filter(s => s.warm).length;
  }

  /** End every spare and keep none until the next fill(). */
  async clear(): Promise<void> {
    const ending = this.spares;
    this.spares = [];
    this.size = 0;
    this.key = null;
    this.recipe = null;
    await Promise.all(ending.map(end));
  }

  private spawn(): void {
    const spare = { abort: new AbortController(), kernel: null, warm: false } as Spare;
    spare.ready = this.start(spare, this.recipe!);
    spare.ready.catch((err: Error) => {
      // Dropped while still in the pool is a failure worth a word; taken or cleared is not.
      if (this.drop(spare) && !spare.abort.signal.aborted) {
        warn(`a warm spare kernel was dropped: ${err.message}`);
      }
    });
    this.spares.push(spare);
  }

  private async start(spare: Spare, recipe: SpareRecipe): Promise<Kernel> {
    const kernel = await Kernel.start({
      spec: recipe.spec,
      label: `spare ${++this.started}`,
      runtimeDir: this.options.runtimeDir,
      cwd: recipe.cwd,
      env: recipe.env,
      python: this.options.python,
      onIopub: () => undefined,
      signal: spare.abort.signal,
      readyTimeoutMs: SPARE_READY_TIMEOUT_MS
    });
    spare.kernel = kernel;
    void kernel.exited.then(() => this.onExit(spare));
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
  private onExit(spare: Spare): void {
    if (!this.drop(spare)) {
      return; // taken (its owner handles it) or cleared
    }
    void spare.kernel!.kill();
    if (spare.warm) {
      this.fill(this.recipe!, this.size);
    }
  }

  private drop(spare: Spare): boolean {
    const index = this.spares.indexOf(spare);
    if (index >= 0) {
      this.spares.splice(index, 1);
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
