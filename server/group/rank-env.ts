import { randomUUID } from 'node:crypto';

/** What every rank of a group shares. */
export interface GroupShape {
  worldSize: number;
  /**
   * The rendezvous port: null until known. Rank 0 listens on a port the OS picks and the others
   * learn it then, so no other process can take it between its choice and its use.
   */
  masterPort: number | null;
  /** Comma list of the chosen GPUs, the same for every rank; null for CPU ranks. */
  cudaVisibleDevices: string | null;
  runId: string;
}

export function newRunId(): string {
  return randomUUID();
}

/**
 * torchrun's environment for one rank on this machine, so torch, accelerate and Lightning code
 * behaves as under `torchrun --nproc-per-node=N`. As with torchrun, every rank sees all chosen GPUs
 * and LOCAL_RANK picks its own (so `cuda:{LOCAL_RANK}` code keeps working); CPU ranks see none.
 * MASTER_PORT is left out while the port is not known yet; the ranks get it before any user code.
 */
export function rankEnvironment(rank: number, shape: GroupShape): Record<string, string> {
  const n = String(shape.worldSize);
  return {
    RANK: String(rank),
    LOCAL_RANK: String(rank),
    GROUP_RANK: '0',
    ROLE_RANK: String(rank),
    ROLE_NAME: 'default',
    WORLD_SIZE: n,
    LOCAL_WORLD_SIZE: n,
    ROLE_WORLD_SIZE: n,
    GROUP_WORLD_SIZE: '1',
    MASTER_ADDR: '127.0.0.1',
    ...(shape.masterPort === null ? {} : { MASTER_PORT: String(shape.masterPort) }),
    TORCHELASTIC_RUN_ID: shape.runId,
    TORCHELASTIC_RESTART_COUNT: '0',
    TORCHELASTIC_MAX_RESTARTS: '0',
    ...sharedEnvironment(shape.cudaVisibleDevices)
  };
}

/**
 * The part of rankEnvironment() that is the same for every rank and every run: what a warm spare
 * kernel starts with, before it knows its rank (and before anything touches CUDA).
 */
export function sharedEnvironment(cudaVisibleDevices: string | null): Record<string, string> {
  return {
    CUDA_VISIBLE_DEVICES: cudaVisibleDevices ?? '',
    // nvidia-smi's indices, which we chose from, are in PCI bus order; make CUDA's match.
    CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
    // torchrun's default: N processes sharing the cores should not each spawn a thread per core.
    OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '1',
    // A local group's collectives stay on loopback: gloo would bind the address the host name
    // resolves to, NCCL's bootstrap any interface it finds.
    GLOO_SOCKET_IFNAME: 'lo',
    NCCL_SOCKET_IFNAME: 'lo',
    JUPYTER_DDP: '1'
  };
}
