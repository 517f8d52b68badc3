/**
 * The part of JupyterLab's TranslationBundle that the texts shared by the UI and `jupyter-ddp run`
 * use: the UI passes its bundle; Node, where @jupyterlab/translation does not load (its ES modules
 * import without file extensions), passes {@link plainTexts}.
 */
export interface Texts {
  /** `msgid` with `%1`, `%2`… replaced by `args`. */
  __(msgid: string, ...args: unknown[]): string;
  /** `msgid` when `n` is 1, else `plural`; `%1` is `n`, `%2`… are `args`. */
  _n(msgid: string, plural: string, n: number, ...args: unknown[]): string;
}

/** `%1`… replaced as JupyterLab's Gettext.strfmt does (`%%` is a literal `%`). */
function format(text: string, args: unknown[]): string {
  return text.replace(/%(%|\d+)/g, (_match, what: string) =>
    what === '%' ? '%' : String(args[Number(what) - 1])
  );
}

/** The texts untranslated, as JupyterLab's nullTranslator gives them. */
export const plainTexts: Texts = {
  __: (msgid, ...args) => format(msgid, args),
  _n: (msgid, plural, n, ...args) => format(n === 1 ? msgid : plural, [n, ...args])
};
