import { createContext, useContext } from 'react';
import type { Api, Me } from './api.js';

const TOKEN_KEY = 'simscope.token';
const WORKSPACE_KEY = 'simscope.workspace';

/** Takes a token from a sign-in link (`/#token=…`) into storage and out of the address bar. */
export function takeTokenFromLink(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!match) return;
  localStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1] ?? ''));
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
}

export function storedToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export function storedWorkspace(): string | null {
  return localStorage.getItem(WORKSPACE_KEY);
}

export function storeWorkspace(name: string | null): void {
  if (name) localStorage.setItem(WORKSPACE_KEY, name);
  else localStorage.removeItem(WORKSPACE_KEY);
}

export interface Selection {
  ids: readonly string[];
  has(id: string): boolean;
  toggle(id: string): void;
  set(ids: readonly string[]): void;
}

export interface Session {
  api: Api;
  me: Me;
  selection: Selection;
  signOut(): void;
  switchWorkspace(name: string): void;
  theme: Theme;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

export function storedTheme(): Theme {
  const t = localStorage.getItem('simscope.theme');
  return t === 'light' || t === 'dark' ? t : 'system';
}

/** Applies a theme to the page: `data-theme` on the root element, which the styles follow. */
export function applyTheme(theme: Theme): void {
  localStorage.setItem('simscope.theme', theme);
  const dark =
    theme === 'dark' || (theme === 'system' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

/** Colours the charts take from the page's theme. */
export function chartColors(): { text: string; grid: string; background: string; series: string[] } {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return {
    text: v('--text-muted'),
    grid: v('--grid'),
    background: v('--bg'),
    series: Array.from({ length: 10 }, (_, i) => v(`--series-${i}`)),
  };
}

/** The i-th of many distinct series colours: the theme's ten, then hues spread by the golden angle. */
export function seriesColor(palette: string[], i: number): string {
  const own = palette[i];
  if (own) return own;
  const hue = (i * 137.508) % 360;
  return `hsl(${hue.toFixed(1)} 65% 50%)`;
}
