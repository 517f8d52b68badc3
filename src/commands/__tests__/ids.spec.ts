import * as fs from 'node:fs';
import * as path from 'node:path';

import { CellCommandIDs, GroupCommandIDs, PanelCommandIDs, TransferCommandIDs } from '../ids';

const SCHEMA_DIR = path.join(__dirname, '..', '..', '..', 'schema');

/** Every `"command"` value in a settings schema (toolbars, shortcuts, menus). */
function commandsIn(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.flatMap(commandsIn);
  }
  if (typeof value !== 'object' || value === null) {
    return [];
  }
  return Object.entries(value).flatMap(([key, inner]) =>
    key === 'command' && typeof inner === 'string' ? [inner] : commandsIn(inner)
  );
}

const ours = [CellCommandIDs, GroupCommandIDs, PanelCommandIDs, TransferCommandIDs].flatMap(ids =>
  Object.values(ids)
);

describe('command ids', () => {
  it('are unique and all under ddp:', () => {
    expect(new Set(ours).size).toBe(ours.length);
    expect(ours.filter(id => !id.startsWith('ddp:'))).toEqual([]);
  });

  it('are the ones the settings schemas name', () => {
    const named = fs
      .readdirSync(SCHEMA_DIR)
      .filter(name => name.endsWith('.json'))
      .flatMap(name => commandsIn(JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, name), 'utf8'))))
      .filter(id => id.startsWith('ddp:'));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter(id => !ours.includes(id as (typeof ours)[number]))).toEqual([]);
  });
});
