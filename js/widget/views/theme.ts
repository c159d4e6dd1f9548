/** Light/dark theme: 'auto' follows JupyterLab (body[data-jp-theme-light]) or, outside Lab, the OS. */

import type { ThemeSetting } from '../protocol/model';

export interface Colors {
  bg: string;
  fg: string;
  highlight: string;
  dark: boolean;
}

function inJupyterLab(): boolean {
  return document.body.dataset.jpThemeLight !== undefined;
}

function resolveTheme(setting: ThemeSetting): 'light' | 'dark' {
  if (setting !== 'auto') return setting;
  const jp = document.body.dataset.jpThemeLight;
  if (jp !== undefined) return jp === 'false' ? 'dark' : 'light';
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Set the root's theme attributes; CSS maps them to --aw-* colours (JupyterLab's variables in auto mode). */
export function applyTheme(root: HTMLElement, setting: ThemeSetting): Colors {
  const theme = resolveTheme(setting);
  root.dataset.theme = theme;
  root.classList.toggle('aw-jp', setting === 'auto' && inJupyterLab());
  const style = getComputedStyle(root);
  const get = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const dark = theme === 'dark';
  return {
    bg: get('--aw-bg', dark ? '#111111' : '#ffffff'),
    fg: get('--aw-fg', dark ? '#e6e6e6' : '#1a1a1a'),
    highlight: get('--aw-highlight', dark ? 'rgba(255,255,255,0.12)' : 'rgba(0,0,0,0.08)'),
    dark
  };
}

/** Call `onChange` when JupyterLab's or the OS's theme changes; returns the disconnect function. */
export function watchTheme(onChange: () => void): () => void {
  const observer = new MutationObserver(onChange);
  observer.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name'] });
  const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
  media?.addEventListener?.('change', onChange);
  return () => {
    observer.disconnect();
    media?.removeEventListener?.('change', onChange);
  };
}
