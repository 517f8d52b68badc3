import { GroupState, isOutputMsgType, isRunning, OUTPUT_MSG_TYPES } from '../api';

describe('isRunning', () => {
  it('is true for a group whose ranks are up, idle or not', () => {
    const states: GroupState[] = ['starting', 'ready', 'busy', 'failed', 'stopped'];
    expect(states.filter(isRunning)).toEqual(['ready', 'busy']);
  });
});

describe('isOutputMsgType', () => {
  it('accepts the relayed iopub types and nothing else', () => {
    expect(OUTPUT_MSG_TYPES.every(isOutputMsgType)).toBe(true);
    expect(OUTPUT_MSG_TYPES).toContain('status');
    for (const other of ['execute_input', 'execute_reply', 'comm_msg', 'Stream', '']) {
      expect(isOutputMsgType(other)).toBe(false);
    }
  });
});
