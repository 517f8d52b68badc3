import type { IOutput } from '@jupyterlab/nbformat';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';

import { RankBuffer } from '../outputs/rank-buffer';
import { StreamChunker } from './chunks';
import { setText } from './dom';

/** Scrolling this soon after the user's wheel, keys or pointer is the user's. */
const USER_SCROLL_MS = 1000;

/** An output area model whose stream outputs are never merged: the pane sends whole chunks. */
class ChunkedOutputAreaModel extends OutputAreaModel {
  shouldCombine(): boolean {
    return false;
  }

  /** Remove the outputs from `start` on, in one change. */
  removeFrom(start: number): void {
    if (start >= this.length) {
      return;
    }
    const removed = [...this.list].slice(start);
    this.list.removeRange(start, this.length);
    removed.forEach(item => item.dispose());
  }

  /** Remove the first `count` outputs, in one change. */
  removeFirst(count: number): void {
    if (count <= 0) {
      return;
    }
    if (count >= this.length) {
      this.clear();
      return;
    }
    const removed = [...this.list].slice(0, count);
    this.list.removeRange(0, count);
    removed.forEach(item => item.dispose());
  }
}

/** What a pane shows as one output of its output area: a buffer output, or a chunk of a stream. */
interface PaneItem {
  /** The same item keeps its id while it lives. */
  id: string;
  /** Changes whenever its content does. */
  sig: string;
  output: () => IOutput;
}

/**
 * One rank's outputs, rendered by JupyterLab's own output area from the rank's bounded buffer.
 * Long streams are rendered in chunks of lines, so that output arriving re-renders only the last
 * chunk and dropping the oldest removes whole chunks: a flood never re-renders a whole pane. It
 * needs only the buffer, so any view of one rank's outputs can mount one.
 */
export class RankPane extends Panel {
  constructor(
    readonly rank: number,
    private readonly _buffer: RankBuffer,
    rendermime: IRenderMimeRegistry,
    translator: ITranslator | undefined,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-ddp-RankPane');
    this.id = `jp-ddp-rank-pane-${rank}`;
    this.node.dataset.rank = String(rank);
    this.node.setAttribute('role', 'tabpanel');
    this.node.setAttribute('aria-label', _trans.__('Rank %1', rank));
    // Focusable, so that its output scrolls with the keyboard.
    this.node.tabIndex = 0;
    this._titleWidget = new Widget();
    this._titleWidget.addClass('jp-ddp-RankPane-title');
    this._titleWidget.node.textContent = _trans.__('Rank %1', rank);
    this._note = new Widget();
    this._note.addClass('jp-ddp-RankPane-note');
    this._note.hide();
    this._model = new ChunkedOutputAreaModel({ trusted: true });
    this._area = new OutputArea({ model: this._model, rendermime, translator });
    this._area.addClass('jp-ddp-RankPane-output');
    this.addWidget(this._titleWidget);
    this.addWidget(this._note);
    this.addWidget(this._area);
    // Like `tail -f`: the pane keeps to the newest output until the user scrolls up (scrolls that
    // follow the user's wheel, keys or pointer say where the user wants to be; others do not).
    const userInput = () => (this._userInputAt = performance.now());
    for (const type of ['wheel', 'keydown', 'pointerdown', 'touchmove']) {
      this.node.addEventListener(type, userInput, { passive: true });
    }
    this.node.addEventListener('scroll', () => {
      const node = this.node;
      if (node.clientHeight > 0 && performance.now() - this._userInputAt < USER_SCROLL_MS) {
        this._stick = node.scrollHeight - node.scrollTop - node.clientHeight < 40;
      }
    });
  }

  showTitle(show: boolean): void {
    this._titleWidget.setHidden(!show);
  }

  /** Bring the output area up to the buffer's state, changing only the outputs that changed. */
  sync(): void {
    const buffer = this._buffer;
    if (buffer.version === this._renderedVersion) {
      return;
    }
    this._renderedVersion = buffer.version;
    const wanted = this._items();
    const ids = new Set(wanted.map(item => item.id));
    const rendered = this._rendered;
    // The oldest outputs were dropped (or all of them cleared).
    let gone = 0;
    while (gone < rendered.length && !ids.has(rendered[gone].id)) {
      gone++;
    }
    this._model.removeFirst(gone);
    rendered.splice(0, gone);
    // Outputs kept: re-render those that changed, up to the first that is not the same output.
    let n = 0;
    for (; n < rendered.length && n < wanted.length && rendered[n].id === wanted[n].id; n++) {
      if (rendered[n].sig !== wanted[n].sig) {
        this._model.set(n, wanted[n].output());
        rendered[n] = { id: wanted[n].id, sig: wanted[n].sig };
      }
    }
    this._model.removeFrom(n);
    rendered.splice(n);
    for (; n < wanted.length; n++) {
      this._model.add(wanted[n].output());
      rendered.push({ id: wanted[n].id, sig: wanted[n].sig });
    }

    const { droppedChars, droppedOutputs } = buffer;
    const dropped = droppedChars > 0 || droppedOutputs > 0;
    this._note.setHidden(!dropped);
    setText(
      this._note.node,
      !dropped
        ? ''
        : droppedOutputs > 0
          ? this._trans.__(
              'Earlier output was dropped to keep the page responsive (%1 characters, %2 outputs).',
              droppedChars.toLocaleString(),
              droppedOutputs.toLocaleString()
            )
          : this._trans.__(
              'Earlier output was dropped to keep the page responsive (%1 characters).',
              droppedChars.toLocaleString()
            )
    );
    this._keepToBottom();
  }

  protected onAfterShow(): void {
    this.sync();
    this._keepToBottom();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    super.dispose();
    this._model.dispose();
  }

  /** What the output area should show: each output, long streams as chunks of lines. */
  private _items(): PaneItem[] {
    const buffer = this._buffer;
    const items: PaneItem[] = [];
    for (const output of buffer.outputs) {
      const id = buffer.idOf(output);
      const rev = buffer.revOf(output);
      if (output.output_type !== 'stream') {
        items.push({ id: String(id), sig: String(rev), output: () => output });
        continue;
      }
      let chunker = this._chunkers.get(output);
      if (!chunker) {
        chunker = new StreamChunker();
        this._chunkers.set(output, chunker);
      }
      const text = output.text as string;
      const base = buffer.baseOf(output);
      const name = output.name;
      for (const chunk of chunker.update(text, base, rev)) {
        items.push({
          id: `${id}.${chunk.no}`,
          sig: `${chunk.start}-${chunk.end}${chunk.open ? `.${rev}` : ''}`,
          output: () => ({
            output_type: 'stream',
            name,
            text: text.slice(chunk.start - base, chunk.end - base)
          })
        });
      }
    }
    return items;
  }

  /**
   * Scroll to the end while the pane sticks to it; again on the next frames, as outputs that were
   * off screen (and skipped layout) get their real heights.
   */
  private _keepToBottom(frames = 3): void {
    if (!this._stick || this.isDisposed) {
      return;
    }
    cancelAnimationFrame(this._scrollFrame);
    this._scrollFrame = requestAnimationFrame(() => {
      if (this._stick && !this.isDisposed) {
        this.node.scrollTop = this.node.scrollHeight;
        if (frames > 1) {
          this._keepToBottom(frames - 1);
        }
      }
    });
  }

  private readonly _titleWidget: Widget;
  private readonly _note: Widget;
  private readonly _model: ChunkedOutputAreaModel;
  private readonly _area: OutputArea;
  private readonly _chunkers = new WeakMap<IOutput, StreamChunker>();
  private _rendered: { id: string; sig: string }[] = [];
  private _renderedVersion = -1;
  private _stick = true;
  private _userInputAt = -Infinity;
  private _scrollFrame = 0;
}
