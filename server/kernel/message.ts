import { randomUUID } from 'node:crypto';

/** Jupyter messaging protocol 5.3 message shapes (the parts the server reads). */
export const PROTOCOL_VERSION = '5.3';

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface JupyterMessage<C = Record<string, unknown>> {
  header: MessageHeader;
  /** Empty object when the message answers nothing. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
  /** The content frame as received (UTF-8 JSON), to relay it without serialising it again. */
  rawContent?: Buffer;
}

export type Channel = 'shell' | 'control' | 'iopub' | 'stdin';

/** A new message of `msgType` in `session`, optionally answering `parent`. */
export function makeMessage<C>(
  msgType: string,
  content: C,
  session: string,
  parent?: MessageHeader,
  metadata: Record<string, unknown> = {}
): JupyterMessage<C> {
  return {
    header: {
      msg_id: randomUUID(),
      session,
      username: 'jupyter-ddp',
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION
    },
    parent_header: parent ?? {},
    metadata,
    content,
    buffers: []
  };
}

/** The msg_id a message answers, if any. */
export function parentId(msg: JupyterMessage<unknown>): string | undefined {
  return (msg.parent_header as Partial<MessageHeader>).msg_id;
}
