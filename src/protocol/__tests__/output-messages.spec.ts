import { appendStream } from '../output-messages';

describe('appendStream', () => {
  it('appends plain text without rewriting', () => {
    expect(appendStream('a\n', false, 'b\nc')).toEqual({
      text: 'a\nb\nc',
      atLineStart: false,
      rewrote: false
    });
  });

  it('applies \\r and \\b across chunks, and says when earlier text changed', () => {
    let state = appendStream('', false, '10%\r');
    expect(state).toEqual({ text: '10%', atLineStart: true, rewrote: false });
    state = appendStream(state.text, state.atLineStart, '50%');
    expect(state).toEqual({ text: '50%', atLineStart: false, rewrote: true });
    expect(appendStream('ab\ncd', false, '\b\bx')).toEqual({
      text: 'ab\nx',
      atLineStart: false,
      rewrote: true
    });
    // \r\n is a plain newline.
    expect(appendStream('a', false, '\r\nb')).toEqual({
      text: 'a\nb',
      atLineStart: false,
      rewrote: false
    });
  });
});
