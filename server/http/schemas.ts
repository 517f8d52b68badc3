import { JSONSchemaType } from 'ajv';

import {
  CallRequest,
  ClientMessage,
  ExecuteRequest,
  PullRequest,
  PushRequest,
  StartGroupRequest
} from '../../src/protocol/api';

export const startGroupSchema: JSONSchemaType<StartGroupRequest> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ranks: { type: 'integer', minimum: 1, maximum: 256, nullable: true },
    cpuRanks: { type: 'integer', minimum: 1, maximum: 256, nullable: true },
    gpus: {
      anyOf: [
        { type: 'string', const: 'all' },
        { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, uniqueItems: true }
      ]
    } as unknown as JSONSchemaType<StartGroupRequest>['properties']['gpus'],
    kernelName: { type: 'string', minLength: 1, nullable: true },
    initProcessGroup: { type: 'boolean', nullable: true },
    // torch's collective timeout: under a second every collective fails, over a week is a typo
    timeoutSeconds: { type: 'number', minimum: 1, maximum: 7 * 24 * 3600, nullable: true },
    cwd: { type: 'string', nullable: true },
    spares: { type: 'boolean', nullable: true }
  }
};

export const executeSchema: JSONSchemaType<ExecuteRequest> = {
  type: 'object',
  additionalProperties: false,
  required: ['code'],
  properties: {
    code: { type: 'string' },
    ranks: { type: 'array', items: { type: 'integer' }, nullable: true },
    cell: {
      type: 'object',
      additionalProperties: false,
      required: ['notebook', 'cellId'],
      properties: { notebook: { type: 'string' }, cellId: { type: 'string' } },
      nullable: true
    }
  }
};

export const pushSchema: JSONSchemaType<PushRequest> = {
  type: 'object',
  additionalProperties: false,
  required: ['file'],
  properties: {
    file: { type: 'string', minLength: 1 },
    ranks: { type: 'array', items: { type: 'integer' }, nullable: true }
  }
};

export const pullSchema: JSONSchemaType<PullRequest> = {
  type: 'object',
  additionalProperties: false,
  required: ['names'],
  properties: {
    names: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }
    },
    rank: { type: 'integer', nullable: true }
  }
};

export const callSchema: JSONSchemaType<CallRequest> = {
  type: 'object',
  additionalProperties: false,
  required: ['file'],
  properties: {
    file: { type: 'string', minLength: 1 },
    ranks: { type: 'array', items: { type: 'integer' }, nullable: true }
  }
};

/**
 * A WebSocket client's message; its `request` is checked as `POST .../executions` checks its body,
 * so that the errors are the same.
 */
export const clientMessageSchema: JSONSchemaType<ClientMessage> = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'id', 'group', 'request'],
  properties: {
    type: { type: 'string', const: 'execute' },
    id: { type: 'integer', minimum: 0 },
    group: { type: 'string', minLength: 1 },
    request: { type: 'object', required: [] }
  }
} as unknown as JSONSchemaType<ClientMessage>;
