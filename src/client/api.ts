import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  API_PREFIX,
  ApiError,
  DEFAULT_GROUP,
  ExecuteRequest,
  ExecutionRecord,
  ExecutionSummary,
  GroupInfo,
  KernelClientInfo,
  StartGroupRequest,
  WarmInfo
} from '../protocol/api';

/** A non-2xx answer: the server's own message, and the status (409: the group's state forbids it). */
export class ApiRequestError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** The `/ddp/api` REST calls, authenticated like every JupyterLab request. */
export class DdpApi {
  constructor(
    private readonly _settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  group(): Promise<GroupInfo> {
    return this._request('GET', `groups/${DEFAULT_GROUP}`);
  }

  start(request: StartGroupRequest): Promise<GroupInfo> {
    return this._request('POST', `groups/${DEFAULT_GROUP}`, request);
  }

  /** Have the server start, in the background, the spares `request`'s start would take. */
  warm(request: StartGroupRequest): Promise<WarmInfo> {
    return this._request('POST', `groups/${DEFAULT_GROUP}/warm`, request);
  }

  stop(): Promise<GroupInfo> {
    return this._request('DELETE', `groups/${DEFAULT_GROUP}`);
  }

  restart(): Promise<GroupInfo> {
    return this._request('POST', `groups/${DEFAULT_GROUP}/restart`);
  }

  async interrupt(): Promise<void> {
    await this._request('POST', `groups/${DEFAULT_GROUP}/interrupt`);
  }

  execute(request: ExecuteRequest): Promise<ExecutionSummary> {
    return this._request('POST', `groups/${DEFAULT_GROUP}/executions`, request);
  }

  /** Kept executions, oldest first. */
  async executions(): Promise<ExecutionSummary[]> {
    return (
      await this._request<{ executions: ExecutionSummary[] }>(
        'GET',
        `groups/${DEFAULT_GROUP}/executions`
      )
    ).executions;
  }

  /** The code that gives a notebook kernel `ddp` and Ddip's line magics. */
  kernelClient(): Promise<KernelClientInfo> {
    return this._request('GET', 'kernel-client');
  }

  record(id: string, since = 0): Promise<ExecutionRecord> {
    return this._request('GET', `groups/${DEFAULT_GROUP}/executions/${id}?since=${since}`);
  }

  /** Throws an Error carrying the server's own message for any non-2xx answer. */
  private async _request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = URLExt.join(this._settings.baseUrl, API_PREFIX, path);
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const res = await ServerConnection.makeRequest(url, init, this._settings);
    const text = await res.text();
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        message = (JSON.parse(text) as ApiError).error;
      } catch {
        // not our JSON: keep the status line
      }
      throw new ApiRequestError(message, res.status);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
