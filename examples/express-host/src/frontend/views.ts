import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

// Eta escapes every `<%= %>` (autoEscape is on by default and never turned off here); the only
// raw outputs are `it.body` in the layout and `include()`d partials, both rendered by Eta itself.
const eta = new Eta({
  views: fileURLToPath(new URL('../../views', import.meta.url)),
  cache: true,
  autoEscape: true,
});

/** A link of the navigation bar. */
export interface NavLink {
  readonly href: string;
  readonly label: string;
  readonly current: boolean;
}

/** What every signed-in page's layout shows. */
export interface PageFrame {
  readonly title: string;
  readonly csrf: string;
  readonly nav?: { readonly links: readonly NavLink[]; readonly name: string; readonly email?: string };
  readonly refresh?: boolean;
}

/** The pages and their data; each template reads only what its entry names. */
export interface Views {
  login: {
    providerName?: string;
    devSignIn: boolean;
    error?: string;
    username?: string;
    fieldError?: string;
  };
  message: { heading: string; text: string; back?: string; backLabel?: string };
  chat: Record<string, unknown>;
  conversations: Record<string, unknown>;
  tools: Record<string, unknown>;
  settings: Record<string, unknown>;
  admin: Record<string, unknown>;
}

/** Renders a page inside the shared layout. */
export function render<Name extends keyof Views>(name: Name, frame: PageFrame, data: Views[Name]): string {
  return eta.render(`./${name}`, { ...frame, ...data });
}

/** The navigation of signed-in pages; admins also see "Register a server". */
export function navigation(
  current: string,
  user: { name: string; email?: string; roles: readonly string[] },
): NonNullable<PageFrame['nav']> {
  const links = [
    { href: '/chat', label: 'Chat' },
    { href: '/conversations', label: 'Conversations' },
    { href: '/tools', label: 'Tools' },
    { href: '/settings', label: 'Settings' },
    ...(user.roles.includes('admin') ? [{ href: '/admin/servers', label: 'Register a server' }] : []),
  ];
  return {
    links: links.map((link) => ({ ...link, current: link.href === current })),
    name: user.name,
    ...(user.email === undefined ? {} : { email: user.email }),
  };
}

const dateFormat = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'medium',
  timeStyle: 'short',
  timeZone: 'UTC',
});

/** A stored time as people read it (UTC, as the server knows no time zone). */
export function formatTime(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : `${dateFormat.format(time)} UTC`;
}

/** A short page for refusals and notices, with the way back (the chat, unless `back` says). */
export function messagePage(
  heading: string,
  text: string,
  options: { back?: string; backLabel?: string } = {},
): string {
  return render('message', { title: heading, csrf: '' }, { heading, text, ...options });
}
