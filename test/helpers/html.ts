// Just enough HTML reading for tests of gameday's own output (no parser in the dependencies): the
// start tags of an element with their attributes, entities decoded.

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };

export function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_m, name: string) => ENTITIES[name]);
}

/** Each start tag `<name …>` in order, as its attributes (values decoded). */
export function startTags(html: string, name: string): Record<string, string>[] {
  const tags: Record<string, string>[] = [];
  for (const m of html.matchAll(new RegExp(`<${name}(\\s[^>]*)?>`, 'g'))) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = decodeEntities(a[2]);
    tags.push(attrs);
  }
  return tags;
}

/** The markup of each `<svg …>…</svg>` (gameday's charts do not nest them). */
export function svgs(html: string): string[] {
  return [...html.matchAll(/<svg\s[^>]*>[^]*?<\/svg>/g)].map((m) => m[0]);
}
