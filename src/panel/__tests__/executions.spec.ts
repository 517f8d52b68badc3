import { DdpExecutions } from '../executions';

describe('DdpExecutions', () => {
  it('maps each cell to its last execution, and each execution to its cell', () => {
    const executions = new DdpExecutions();
    const changes: unknown[] = [];
    executions.changed.connect((_, change) => changes.push(change));
    executions.set('cell-a', 'e1', 'nb.ipynb');
    executions.set('cell-b', 'e2');
    executions.set('cell-a', 'e3', 'nb.ipynb');
    expect(executions.get('cell-a')).toBe('e3');
    expect(executions.get('cell-b')).toBe('e2');
    expect(executions.get('cell-c')).toBeUndefined();
    expect(executions.sourceOf('e3')).toEqual({ cellId: 'cell-a', path: 'nb.ipynb' });
    expect(executions.sourceOf('e2')).toEqual({ cellId: 'cell-b' });
    expect(executions.sourceOf('e1')).toBeUndefined();
    expect(changes).toEqual([
      { cellId: 'cell-a', path: 'nb.ipynb', executionId: 'e1' },
      { cellId: 'cell-b', executionId: 'e2' },
      { cellId: 'cell-a', path: 'nb.ipynb', executionId: 'e3' }
    ]);
  });

  it('forgets the cells run least recently beyond its bound', () => {
    const executions = new DdpExecutions(3);
    for (const cell of ['a', 'b', 'c', 'd']) {
      executions.set(cell, `e-${cell}`);
    }
    executions.set('b', 'e-b2');
    executions.set('e', 'e-e');
    expect(executions.get('a')).toBeUndefined();
    expect(executions.get('c')).toBeUndefined();
    expect(executions.sourceOf('e-c')).toBeUndefined();
    expect(executions.get('b')).toBe('e-b2');
    expect(executions.get('d')).toBe('e-d');
    expect(executions.get('e')).toBe('e-e');
  });
});
