import type { IOutput } from '@jupyterlab/nbformat';
import { OutputAreaModel } from '@jupyterlab/outputarea';

import { ExecutionOutputs } from '../../outputs/execution-outputs';
import type { OutputEvent } from '../../protocol/api';
import { composeCell, RankView } from '../../protocol/outputs';
import { CellNotes, CellOutputs } from '../rank-outputs';

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
/** A cell's outputs composed from its execution's store. */
const compose = (outputs: ExecutionOutputs, view: RankView) =>
  composeCell(outputs, view, { maxChars: 1000, cutNote: 'cut' }).map(c => c.output());
const shown = (outputs: ExecutionOutputs) => compose(outputs, 'all');

describe('a cell’s outputs from its execution’s outputs in sequence', () => {
  it('shows outputs as they come when status events are left out (?omit=status)', () => {
    const outputs = new ExecutionOutputs();
    outputs.add(stream(0, 0, 'a\n'));
    outputs.add(stream(1, 1, 'b\n'));
    expect(shown(outputs)).toEqual([
      { output_type: 'stream', name: 'stdout', text: '[rank 0] a\n' },
      { output_type: 'stream', name: 'stdout', text: '[rank 1] b\n' }
    ]);
    expect(outputs.missesBefore(2)).toBe(false);
  });

  it('never lets a status event take the place of the output with its seq', () => {
    const outputs = new ExecutionOutputs();
    outputs.add(status(0, 0, 'busy'));
    outputs.add(status(0, 1, 'busy'));
    outputs.add(stream(0, 0, 'a\n'));
    outputs.add(status(1, 0, 'idle'));
    outputs.add(stream(1, 1, 'b\n'));
    outputs.add(status(2, 1, 'idle'));
    expect(compose(outputs, 'rank0')).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'a\n' }
    ]);
    expect(shown(outputs)).toHaveLength(2);
    expect(outputs.firstMissing).toBe(2);
  });

  it('says whether an output below a summary’s nextSeq is missing, so a fetch is needed', () => {
    const outputs = new ExecutionOutputs();
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

describe('CellOutputs', () => {
  const notes: CellNotes = { cut: 'cut', missed: n => `${n} missed` };
  const event = (seq: number, rank: number, msgType: OutputEvent['msgType'], content: object) =>
    ({ execution: 'x', seq, rank, msgType, content }) as OutputEvent;
  const texts = (model: OutputAreaModel) =>
    model.toJSON().map(o => (o.output_type === 'stream' ? o.text : o.output_type));

  it('writes only what changed: a stream that grows, not the display before it', () => {
    const model = new OutputAreaModel();
    const store = new ExecutionOutputs();
    const cell = new CellOutputs(model, [], 'rank0', notes);
    const write = () => cell.write(store, { ranks: [0, 1], maxChars: 1000, after: [] });
    store.add(event(0, 0, 'display_data', { data: { 'text/plain': 'plot' } }));
    store.add(stream(1, 0, 'a\n'));
    write();
    const display = model.get(0);
    const first = model.get(1);
    store.add(stream(2, 0, 'b\n'));
    store.add(stream(3, 1, 'not shown\n'));
    write();
    expect(model.get(0)).toBe(display);
    expect(model.get(1)).not.toBe(first);
    expect(texts(model)).toEqual(['display_data', 'a\nb\n']);
    const second = model.get(1);
    write();
    expect(model.get(1)).toBe(second);
    model.dispose();
  });

  it('keeps the outputs above, writes streams of one name as one output, and adds the end', () => {
    const model = new OutputAreaModel();
    const before: IOutput[] = [{ output_type: 'stream', name: 'stdout', text: 'local\n' }];
    model.fromJSON(before);
    const store = new ExecutionOutputs();
    const cell = new CellOutputs(model, before, 'all', notes);
    const after: IOutput[] = [];
    const write = () => cell.write(store, { ranks: [0, 1], maxChars: 1000, after });
    store.add(stream(0, 0, 'a\n'));
    write();
    expect(texts(model)).toEqual(['local\n[rank 0] a\n']);
    store.add(stream(1, 1, 'b\n'));
    write();
    expect(texts(model)).toEqual(['local\n[rank 0] a\n[rank 1] b\n']);
    after.push({ output_type: 'error', ename: 'DdpGroupError', evalue: 'gone', traceback: [] });
    write();
    expect(texts(model)).toEqual(['local\n[rank 0] a\n[rank 1] b\n', 'error']);
    model.dispose();
  });

  it('says how many earlier outputs never came', () => {
    const model = new OutputAreaModel();
    const store = new ExecutionOutputs();
    store.skipTo(7);
    store.add(stream(7, 0, 'h\n'));
    new CellOutputs(model, [], 'rank0', notes).write(store, {
      ranks: [0],
      maxChars: 1000,
      after: []
    });
    expect(texts(model)).toEqual(['7 missed\n', 'h\n']);
    model.dispose();
  });

  it('keeps a flood of 4 x 200000 lines within the bounds of the store and of the cell', () => {
    const maxChars = 200_000;
    const model = new OutputAreaModel();
    const store = new ExecutionOutputs();
    const cell = new CellOutputs(model, [], 'rank0', notes);
    const all = new OutputAreaModel();
    const allCell = new CellOutputs(all, [], 'all', notes);
    const write = () => {
      cell.write(store, { ranks: [0, 1, 2, 3], maxChars, after: [] });
      allCell.write(store, { ranks: [0, 1, 2, 3], maxChars, after: [] });
    };
    const streamChars = (m: OutputAreaModel) =>
      m.toJSON().reduce((n, o) => n + (o.output_type === 'stream' ? String(o.text).length : 0), 0);
    let seq = 0;
    for (let i = 0; i < 200_000; i++) {
      for (let rank = 0; rank < 4; rank++) {
        store.add(stream(seq++, rank, `${i}\n`));
      }
      if (i % 20_000 === 0) {
        write();
        expect(streamChars(model)).toBeLessThanOrEqual(maxChars + 'cut\n'.length);
      }
    }
    write();
    for (const rank of [0, 1, 2, 3]) {
      const buffer = store.rank(rank);
      expect(buffer.streamChars).toBeLessThanOrEqual(1_000_000);
      expect(buffer.outputs.length).toBeLessThanOrEqual(500);
      expect(buffer.droppedChars).toBeGreaterThan(0);
    }
    expect(store.pending).toBe(0);
    const shown = model.toJSON();
    expect(shown[0]).toEqual({ output_type: 'stream', name: 'stderr', text: 'cut\n' });
    expect(streamChars(model)).toBeLessThanOrEqual(maxChars + 'cut\n'.length);
    expect(String(shown[shown.length - 1].text).endsWith('\n199999\n')).toBe(true);
    // Every rank's labelled lines: the labels come on top of the characters shown.
    expect(streamChars(all)).toBeLessThanOrEqual(maxChars + 'cut\n'.length + (9 * maxChars) / 2);
    expect(String(all.toJSON()[1].text).endsWith('[rank 3] 199999\n')).toBe(true);
    model.dispose();
    all.dispose();
  });
});
