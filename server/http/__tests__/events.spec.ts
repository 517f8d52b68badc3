import { ServerMessage } from '../../../src/protocol/api';
import { encode } from '../events';

/** The WebSocket encoding: an output's content relayed from the kernel's own JSON. */
describe('encode', () => {
  const output: ServerMessage = {
    type: 'output',
    group: 'default',
    event: {
      execution: 'e1',
      rank: 3,
      seq: 7,
      msgType: 'stream',
      content: { name: 'stdout', text: 'line 1\n"quoted" \\ é ✓\n' }
    }
  };

  it("splices the kernel's JSON in as the content, giving the same message", () => {
    // as Python's json.dumps writes it: other spacing and escapes than JSON.stringify
    const raw = Buffer.from(
      '{"name": "stdout", "text": "line 1\\n\\"quoted\\" \\\\ \\u00e9 ✓\\n"}'
    );
    const data = encode(output, raw);
    expect(JSON.parse(data.toString())).toEqual(output);
  });

  it('serialises everything else, and outputs without raw content, as they are', () => {
    expect(encode(output)).toBe(JSON.stringify(output));
    const group: ServerMessage = {
      type: 'execution',
      group: 'default',
      execution: {
        id: 'e1',
        ranks: [0],
        status: 'ok',
        rankStatus: {},
        executionCount: {},
        startedAt: 0,
        rankEndedAt: {},
        nextSeq: 0
      }
    };
    expect(encode(group, Buffer.from('{}'))).toBe(JSON.stringify(group));
  });
});
