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
 * chunk and dropping the oldest removes whole chunks: a flood never re-renders a whole pane.
 */
export class RankPane extends Panel {
  constructor(
    readonly rank: number,
    private readonly buffer: RankBuffer,
    rendermime: IRenderMimeRegistry,
    translator: ITranslator | undefined,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-ddp-RankPane');
    this.id = `jp-ddp-rank-pane-${rank}`;
    this.node.dataset.rank = String(rank);
    this.node.setAttribute('role', 'tabpanel');
    this.node.setAttribute('aria-label', trans.__('Rank %1', rank));
    // Focusable, so that its output scrolls with the keyboard.
    this.node.tabIndex = 0;
    this.titleWidget = new Widget();
    this.titleWidget.addClass('jp-ddp-RankPane-title');
    this.titleWidget.node.textContent = trans.__('Rank %1', rank);
    this.note = new Widget();
    this.note.addClass('jp-ddp-RankPane-note');
    this.note.hide();
    this.model = new ChunkedOutputAreaModel({ trusted: true });
    this.area = new OutputArea({ model: this.model, rendermime, translator });
    this.area.addClass('jp-ddp-RankPane-output');
    this.addWidget(this.titleWidget);
    this.addWidget(this.note);
    this.addWidget(this.area);
    // Like `tail -f`: the pane keeps to the newest output until the user scrolls up (scrolls that
    // follow the user's wheel, keys or pointer say where the user wants to be; others do not).
    const userInput = () => (this.userInputAt = performance.now());
    for (const type of ['wheel', 'keydown', 'pointerdown', 'touchmove']) {
      this.node.addEventListener(type, userInput, { passive: true });
    }
    this.node.addEventListener('scroll', () => {
      const node = this.node;
      if (node.clientHeight > 0 && performance.now() - this.userInputAt < USER_SCROLL_MS) {
        this.stick = node.scrollHeight - node.scrollTop - node.clientHeight < 40;
      }
    });
  }

  showTitle(show: boolean): void {
    this.titleWidget.setHidden(!show);
  }

  /** Bring the output area up to the buffer's state, changing only the outputs that changed. */
  sync(): void {
    const buffer = this.buffer;
    if (buffer.version === this.renderedVersion) {
      return;
    }
    this.renderedVersion = buffer.version;
    const wanted = this.items();
    const ids = new Set(wanted.map(item => item.id));
    const rendered = this.rendered;
    // The oldest outputs were dropped (or all of them cleared).
    let gone = 0;
    while (gone < rendered.length && !ids.has(rendered[gone].id)) {
      gone++;
    }
    this.model.removeFirst(gone);
    rendered.splice(0, gone);
    // Outputs kept: re-render those that changed, up to the first that is not the same output.
    let n = 0;
    for (; n < rendered.length && n < wanted.length && rendered[n].id === wanted[n].id; n++) {
      if (rendered[n].sig !== wanted[n].sig) {
        this.model.set(n, wanted[n].output());
        rendered[n] = { id: wanted[n].id, sig: wanted[n].sig };
      }
    }
    this.model.removeFrom(n);
    rendered.splice(n);
    for (; n < wanted.length; n++) {
      this.model.add(wanted[n].output());
      rendered.push({ id: wanted[n].id, sig: wanted[n].sig });
    }

    const { droppedChars, droppedOutputs } = buffer;
    const dropped = droppedChars > 0 || droppedOutputs > 0;
    this.note.setHidden(!dropped);
    setText(
      this.note.node,
      !dropped
        ? ''
        : droppedOutputs > 0
          ? this.trans.__(
              'Earlier output was dropped to keep the page responsive (%1 characters, %2 outputs).',
              droppedChars.toLocaleString(),
              droppedOutputs.toLocaleString()
            )
          : this.trans.__(
              'Earlier output was dropped to keep the page responsive (%1 characters).',
              droppedChars.toLocaleString()
            )
    );
    this.keepToBottom();
  }

  protected onAfterShow(): void {
    this.sync();
    this.keepToBottom();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    super.dispose();
    this.model.dispose();
  }

  /** What the output area should show: each output, long streams as chunks of lines. */
  private items(): PaneItem[] {
    const buffer = this.buffer;
    const items: PaneItem[] = [];
    for (const output of buffer.outputs) {
      const id = buffer.idOf(output);
      const rev = buffer.revOf(output);
      if (output.output_type !== 'stream') {
        items.push({ id: String(id), sig: String(rev), output: () => output });
        continue;
      }
      let chunker = this.chunkers.get(output);
      if (!chunker) {
        chunker = new StreamChunker();
        this.chunkers.set(output, chunker);
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
  private keepToBottom(frames = 3): void {
    if (!this.stick || this.isDisposed) {
      return;
    }
    cancelAnimationFrame(this.scrollFrame);
    this.scrollFrame = requestAnimationFrame(() => {
      if (this.stick && !this.isDisposed) {
        this.node.scrollTop = this.node.scrollHeight;
        if (frames > 1) {
          this.keepToBottom(frames - 1);
        }
      }
    });
  }

  private readonly titleWidget: Widget;
  private readonly note: Widget;
  private readonly model: ChunkedOutputAreaModel;
  private readonly area: OutputArea;
  private readonly chunkers = new WeakMap<IOutput, StreamChunker>();
  private rendered: { id: string; sig: string }[] = [];
  private renderedVersion = -1;
  private stick = true;
  private userInputAt = -Infinity;
  private scrollFrame = 0;
}
