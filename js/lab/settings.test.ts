import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { describe, expect, it } from 'vitest';
import { loadSettings } from './settings';

describe('loadSettings', () => {
  it('reports a load failure and falls back to defaults', async () => {
    const failure = new Error('schema validation failed');
    const registry = { load: () => Promise.reject(failure) } as unknown as ISettingRegistry;
    const reports: [string, unknown][] = [];
    const settings = await loadSettings(registry, 'attn-widget:plugin', (t, e) => reports.push([t, e]));
    expect(settings).toBeNull();
    expect(reports).toEqual([['attn-widget: settings could not be loaded (defaults used)', failure]]);
  });

  it('returns the loaded settings, and null without a registry', async () => {
    const loaded = { composite: {} } as ISettingRegistry.ISettings;
    const registry = { load: (id: string) => Promise.resolve(id === 'p' ? loaded : null) } as unknown as ISettingRegistry;
    expect(await loadSettings(registry, 'p', () => undefined)).toBe(loaded);
    expect(await loadSettings(null, 'p', () => undefined)).toBeNull();
  });
});
