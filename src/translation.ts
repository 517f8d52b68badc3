import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';

/** The translation domain of every DDP plugin: the extension's name with `_`, as JupyterLab's. */
export const TRANSLATION_DOMAIN = 'jupyterlab_ddp';

/** The DDP plugins' strings in the user's language (as written, without a translator). */
export function ddpTranslations(translator: ITranslator | null): TranslationBundle {
  return (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
}
