import { DEFAULT_GROUP, ServerMessage } from '../../src/protocol/api';
import { DdpGroup, GroupEnvironment } from './group';

/**
 * The server's groups: one, "default", since the ranks take every GPU of the machine. Group
 * events go to `broadcast` (the WebSocket clients).
 */
export class Groups {
  private readonly _groups = new Map<string, DdpGroup>();

  constructor(
    env: GroupEnvironment,
    broadcast: (message: ServerMessage, rawContent?: Buffer) => void
  ) {
    const name = DEFAULT_GROUP;
    this._groups.set(
      name,
      new DdpGroup(name, env, {
        group: info => broadcast({ type: 'group', group: info }),
        output: (event, raw) => broadcast({ type: 'output', group: name, event }, raw),
        execution: execution => broadcast({ type: 'execution', group: name, execution })
      })
    );
  }

  get(name: string): DdpGroup | undefined {
    return this._groups.get(name);
  }

  get default(): DdpGroup {
    return this._groups.get(DEFAULT_GROUP)!;
  }

  names(): string[] {
    return [...this._groups.keys()];
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this._groups.values()].map(g => g.stop()));
  }
}
