import type { ISettingRegistry } from '@jupyterlab/settingregistry';

/**
 * The plugin's settings, or null when there is no registry or they cannot be loaded; a load
 * failure is passed to `report` (shown to the user), never swallowed: the sidebar then runs on
 * its defaults and the user knows why their settings are ignored.
 */
export async function loadSettings(
  registry: ISettingRegistry | null,
  pluginId: string,
  report: (title: string, error: unknown) => void
): Promise<ISettingRegistry.ISettings | null> {
  if (!registry) {
    return null;
  }
  try {
    return await registry.load(pluginId);
  } catch (error) {
    report('attn-widget: settings could not be loaded (defaults used)', error);
    return null;
  }
}
