/** Set a node's text only when it differs, so that unchanged text costs no layout. */
export function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}
