/**
 * The `/ddp/api` contract shared by the JupyterLab frontend (src/) and the Node server (server/).
 * Pure types and constants only: this module must load in both the browser and Node.
 */

/** Mount point of every REST route and the WebSocket, relative to the Jupyter base URL. */
export const API_PREFIX = 'ddp/api';

/** WebSocket path, relative to the Jupyter base URL. */
export const WS_PATH = `${API_PREFIX}/ws`;

/** Lifecycle of a DDP group. */
export type GroupState = 'starting' | 'ready' | 'busy' | 'failed' | 'stopped';

/** What kind of device each rank drives. */
export type DeviceKind = 'gpu' | 'cpu';

/** A one-glance description of the group, enough for the status bar. */
export interface GroupSummary {
  state: GroupState;
  /** Number of ranks; 0 while stopped. */
  worldSize: number;
  device: DeviceKind | null;
  /** Human-readable reason when `state` is `failed`. */
  error?: string;
}

/** `GET /ddp/api/health` */
export interface HealthResponse {
  status: 'ok';
  /** Version of the jupyter-ddp server package. */
  version: string;
  group: GroupSummary;
}

/** Every error body the API returns. */
export interface ApiError {
  error: string;
  /** The request field at fault, when one is. */
  field?: string;
}

/** Messages the server pushes over the WebSocket. */
export type ServerMessage = { type: 'hello'; version: string; group: GroupSummary };
