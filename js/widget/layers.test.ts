/** The widget's layers import only downwards: protocol ← state ← views ← app.ts ← index.ts. */

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = dirname(fileURLToPath(import.meta.url));
const LAYERS = ['protocol', 'state', 'views', 'app', 'index'];

function layerOf(file: string): number {
  const top = relative(root, file).split(/[\\/]/)[0].replace(/\.ts$/, '');
  return LAYERS.indexOf(top);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('widget layers', () => {
  it('import only from their own layer or the ones below', () => {
    const wrong: string[] = [];
    for (const file of sources(root)) {
      const own = layerOf(file);
      expect(own, `${relative(root, file)} is in no layer`).toBeGreaterThanOrEqual(0);
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = join(dirname(file), spec);
        if (!target.startsWith(root)) continue; // the wire schema, outside js/widget
        if (layerOf(target) > own) wrong.push(`${relative(root, file)} → ${spec}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
