import type { OutputEvent } from '../../protocol/api';
import { RankOutputs } from '../rank-outputs';

const stream = (seq: number, rank: number, text: string): OutputEvent => ({
  execution: 'x',
  seq,
  rank,
  msgType: 'stream',
  content: { name: 'stdout', text }
});
/** A busy/idle event: it carries the seq the next output will get. */
const status = (seq: number, rank: number, state: 'busy' | 'idle'): OutputEvent => ({
  execution: 'x',
  seq,
  rank,
  msgType: 'status',
  content: { execution_state: state }
});
const shown = (outputs: RankOutputs) => outputs.compose('all', 1000, 'cut');

describe('RankOutputs', () => {
  it('shows outputs as they come when status events are left out (?omit=status)', () => {
    const outputs = new RankOutputs();
    outputs.add(stream(0, 0, 'a\n'));
    outputs.add(stream(1, 1, 'b\n'));
    expect(shown(outputs)).toEqual([
      { output_type: 'stream', name: 'stdout', text: '[rank 0] a\n' },
      { output_type: 'stream', name: 'stdout', text: '[rank 1] b\n' }
    ]);
    expect(outputs.missesBefore(2)).toBe(false);
  });

  it('never lets a status event take the place of the output with its seq', () => {
    const outputs = new RankOutputs();
    outputs.add(status(0, 0, 'busy'));
    outputs.add(status(0, 1, 'busy'));
    outputs.add(stream(0, 0, 'a\n'));
    outputs.add(status(1, 0, 'idle'));
    outputs.add(stream(1, 1, 'b\n'));
    outputs.add(status(2, 1, 'idle'));
    expect(outputs.compose('rank0', 1000, 'cut')).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'a\n' }
    ]);
    expect(shown(outputs)).toHaveLength(2);
    expect(outputs.firstMissing).toBe(2);
  });

  it('says whether an output below a summary’s nextSeq is missing, so a fetch is needed', () => {
    const outputs = new RankOutputs();
    expect(outputs.missesBefore(0)).toBe(false);
    outputs.add(stream(0, 0, 'a'));
    outputs.add(stream(2, 0, 'c'));
    expect(outputs.missesBefore(3)).toBe(true);
    expect(shown(outputs)).toEqual([{ output_type: 'stream', name: 'stdout', text: '[rank 0] a' }]);
    outputs.add(stream(1, 0, 'b'));
    expect(outputs.missesBefore(3)).toBe(false);
    expect(shown(outputs)).toEqual([
      { output_type: 'stream', name: 'stdout', text: '[rank 0] abc' }
    ]);
  });
});
