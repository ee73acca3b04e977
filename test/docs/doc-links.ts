// Relative links between the guides, and their #anchors, as GitHub resolves them: a renamed heading
// or file must not leave a link pointing nowhere. Pure: markdown in, links and anchors out.

export interface DocLink {
  line: number;
  /** the path part, '' for a link within the same file */
  path: string;
  /** the part after #, or null */
  anchor: string | null;
}

/** Lines outside fenced code blocks, with their 1-based numbers: links in code are not links. */
function prose(markdown: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let fence: string | null = null;
  markdown.split(/\r?\n/).forEach((line, i) => {
    const m = /^ *(`{3,}|~{3,})/.exec(line);
    if (m && (fence === null || (m[1][0] === fence[0] && m[1].length >= fence.length))) fence = fence === null ? m[1] : null;
    else if (fence === null) out.push([i + 1, line]);
  });
  return out;
}

/** Links to other files of the repo or to anchors: `[text](path#anchor)`, not http(s) or mailto. */
export function relativeLinks(markdown: string): DocLink[] {
  const links: DocLink[] = [];
  for (const [line, text] of prose(markdown)) {
    // inline code is not a link either
    for (const m of text.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue;
      const hash = target.indexOf('#');
      links.push({ line, path: hash < 0 ? target : target.slice(0, hash), anchor: hash < 0 ? null : target.slice(hash + 1) });
    }
  }
  return links;
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens; a repeat gets -1, -2. */
export function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, line] of prose(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}
